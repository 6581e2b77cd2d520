import { expect, test } from 'bun:test';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { batchedStdout, LOG_FLUSH_MS } from './log-stdout';

function tempFile() {
  const dir = mkdtempSync(join(tmpdir(), 'orbit-log-'));
  const path = join(dir, 'out.log');
  const fd = openSync(path, 'w');
  return { path, fd, [Symbol.dispose]: () => (closeSync(fd), rmSync(dir, { recursive: true, force: true })) };
}

async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await Bun.sleep(10);
}

test('lines reach the descriptor whole and in order, across many batches', async () => {
  using file = tempFile();
  const out = batchedStdout(file.fd);
  const expected: string[] = [];
  for (let i = 0; i < 20_000; i++) {
    const line = `{"n":${i},"text":"${'é'.repeat(i % 7)}"}\n`;
    expected.push(line);
    out.write(line);
  }
  out.flush();
  const want = expected.join('');
  await until(() => readFileSync(file.path, 'utf8').length >= want.length);
  expect(readFileSync(file.path, 'utf8')).toBe(want);
});

test('lines longer than a batch, and characters of every UTF-8 length, come out as Buffer.from writes them, in order', async () => {
  using file = tempFile();
  const out = batchedStdout(file.fd);
  const lines = [
    'short\n',
    `${'é'.repeat(100_000)}\n`, // 200 KB in UTF-8: more than a batch holds
    `${'€'.repeat(21_000)}\n`, // 63 KB: fits, but not beside what came before
    'a lone surrogate \ud800 and a pair \ud83d\ude00\n',
    `${'x'.repeat(65_530)}\n`,
    'last\n',
  ];
  for (let round = 0; round < 3; round++) for (const line of lines) out.write(line);
  out.flush();
  const want = Buffer.concat(Array.from({ length: 3 }, () => lines.map((l) => Buffer.from(l))).flat());
  await until(() => readFileSync(file.path).byteLength >= want.byteLength);
  expect(readFileSync(file.path).equals(want)).toBe(true);
});

test('a line waits at most LOG_FLUSH_MS for its batch', async () => {
  using file = tempFile();
  batchedStdout(file.fd).write('one line\n');
  expect(readFileSync(file.path, 'utf8')).toBe('');
  await Bun.sleep(LOG_FLUSH_MS);
  await until(() => readFileSync(file.path, 'utf8') !== '');
  expect(readFileSync(file.path, 'utf8')).toBe('one line\n');
});

// A log whose reader went away must cost the server nothing: no throw, no growing queue.
test('a descriptor that cannot be written to drops the lines without throwing', async () => {
  using file = tempFile();
  const readOnly = openSync(file.path, 'r');
  try {
    const out = batchedStdout(readOnly);
    for (let i = 0; i < 1000; i++) expect(out.write(`line ${i}\n`)).toBe(true);
    out.flush();
    await Bun.sleep(50);
    out.write('after\n');
    out.flush();
    await Bun.sleep(20);
    expect(readFileSync(file.path, 'utf8')).toBe('');
  } finally {
    closeSync(readOnly);
  }
});
