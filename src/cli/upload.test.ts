import { describe, expect, test } from 'bun:test';
import { progressReporter, zipUploadUrl } from './upload';

describe('zipUploadUrl', () => {
  test('escapes upper case in the module path and version as the protocol does, under any server prefix', () => {
    expect(zipUploadUrl('https://repo.example/orbit/', 'go-internal', 'github.com/MyUser/Mod', 'v1.0.0-RC')).toBe(
      'https://repo.example/orbit/go/go-internal/github.com/!my!user/!mod/@v/v1.0.0-!r!c.zip',
    );
  });
});

describe('progressReporter', () => {
  test('on a terminal, one bar redrawn in place that ends at 100% and a newline', () => {
    let out = '';
    const p = progressReporter(4 << 20, { isTTY: true, write: (s: string) => (out += s) });
    p.update(0);
    p.update(4 << 20);
    p.done(true);
    expect(out.startsWith('\r[')).toBe(true);
    expect(out).not.toContain('\n[');
    expect(out.endsWith('] 100% 4.0 MiB / 4.0 MiB\n')).toBe(true);
  });

  // Logs of CI jobs keep every line, so elsewhere only the quarters are written.
  test('elsewhere, a plain line per quarter', () => {
    let out = '';
    const p = progressReporter(100, { write: (s: string) => (out += s) });
    for (let sent = 0; sent <= 100; sent += 5) p.update(sent);
    p.done(true);
    expect(out.trim().split('\n')).toEqual([
      'uploaded 0% (0.0 MiB of 0.0 MiB)',
      'uploaded 25% (0.0 MiB of 0.0 MiB)',
      'uploaded 50% (0.0 MiB of 0.0 MiB)',
      'uploaded 75% (0.0 MiB of 0.0 MiB)',
      'uploaded 100% (0.0 MiB of 0.0 MiB)',
    ]);
  });

  test('a refused upload does not claim 100%', () => {
    let out = '';
    const p = progressReporter(100, { write: (s: string) => (out += s) });
    p.update(60);
    p.done(false);
    expect(out.trim().split('\n')).toEqual(['uploaded 50% (0.0 MiB of 0.0 MiB)']);
  });
});
