import { afterAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findCredential, netrcEntryFor, parseNetrc } from './credentials';

const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

describe('parseNetrc reads .netrc as the go command does', () => {
  test('machine entries on one line or several, macros skipped, nothing after a default line', () => {
    const text = [
      'machine a.example login al password ap',
      'machine b.example:8443',
      '  login bl',
      '  password bp',
      'macdef init',
      'machine hidden.example login x password y',
      '',
      'machine c.example login cl password cp',
      'default',
      'login dl password dp',
      'machine after.example login z password z',
    ].join('\n');
    expect(parseNetrc(text).map((e) => e.machine)).toEqual(['a.example', 'b.example:8443', 'c.example']);
  });
});

describe('netrcEntryFor', () => {
  const entries = parseNetrc(
    'machine repo.example login bare password 1\nmachine repo.example:8443 login port password 2\nmachine repo.example:8443/go/internal login path password 3\n',
  );
  test.each([
    ['https://repo.example:8443/go/internal/m/@v/v1.0.0.zip', 'path'],
    ['https://repo.example:8443/go/other/m/@v/v1.0.0.zip', 'port'],
    ['http://repo.example:9000/go/other/m/@v/v1.0.0.zip', 'bare'],
    ['https://repo.example/go/x.zip', 'bare'],
  ])('%s uses the entry of %s', (url, login) => {
    expect(netrcEntryFor(entries, new URL(url))?.login).toBe(login);
  });

  test('no entry for another host', () => {
    expect(netrcEntryFor(entries, new URL('https://elsewhere.example/x'))).toBeUndefined();
  });
});

describe('findCredential', () => {
  const dir = mkdtempSync(join(tmpdir(), 'orbit-netrc-'));
  const netrc = join(dir, 'netrc');
  writeFileSync(netrc, 'machine 127.0.0.1:8080 login alice password s3cret\n');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const url = new URL('http://127.0.0.1:8080/go/r/m/@v/v1.0.0.zip');

  test('ORBITREPO_TOKEN alone is a Bearer token', () => {
    expect(findCredential(url, { ORBITREPO_TOKEN: 'tok', NETRC: netrc })?.header).toBe('Bearer tok');
  });

  test('ORBITREPO_TOKEN with ORBITREPO_USER is Basic, and wins over .netrc', () => {
    expect(findCredential(url, { ORBITREPO_TOKEN: 'tok', ORBITREPO_USER: 'bob', NETRC: netrc })?.header).toBe(basic('bob', 'tok'));
  });

  test('else the .netrc entry NETRC names, reported by file and machine but never by secret', () => {
    const c = findCredential(url, { NETRC: netrc });
    expect(c?.header).toBe(basic('alice', 's3cret'));
    expect(c?.source).toBe(`${netrc} (machine 127.0.0.1:8080)`);
    expect(c?.source).not.toContain('s3cret');
  });

  test('no token and no .netrc: none', () => {
    expect(findCredential(url, { NETRC: join(dir, 'missing') })).toBeNull();
  });
});
