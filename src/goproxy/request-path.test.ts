import { describe, expect, test } from 'bun:test';
import fc from 'fast-check';
import { checkProperty } from '../../test/support/property';
import { GoProtocolError } from './errors';
import { escapePath, escapeVersion } from './escape';
import { isValidModulePath } from './module-path';
import { GoRequestError, goPaths, parseGoRequestPath, parseSumdbPath } from './request-path';

function statusOf(fn: () => unknown): number | 'ok' {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (e instanceof GoRequestError) return e.status;
    throw e;
  }
}

describe('parseGoRequestPath', () => {
  test.each([
    ['example.com/a/@v/list', { kind: 'list', module: 'example.com/a' }],
    ['example.com/a/@latest', { kind: 'latest', module: 'example.com/a' }],
    ['github.com/!foo/!bar/@v/v1.0.0.info', { kind: 'info', module: 'github.com/Foo/Bar', version: 'v1.0.0' }],
    ['github.com/!foo/bar/@v/v1.0.0.mod', { kind: 'mod', module: 'github.com/Foo/bar', version: 'v1.0.0' }],
    ['example.com/a/v2/@v/v2.3.4-!r!c1.zip', { kind: 'zip', module: 'example.com/a/v2', version: 'v2.3.4-RC1' }],
    ['example.com/a/@v/v2.0.0+incompatible.zip', { kind: 'zip', module: 'example.com/a', version: 'v2.0.0+incompatible' }],
    ['gopkg.in/yaml.v2/@v/v2.4.0.zip', { kind: 'zip', module: 'gopkg.in/yaml.v2', version: 'v2.4.0' }],
    ['example.com/a/@v/master.info', { kind: 'info', module: 'example.com/a', version: 'master' }],
    ['example.com/a/@v/v1.0.0.zip.info', { kind: 'info', module: 'example.com/a', version: 'v1.0.0.zip' }],
    ['example.com/a/@v/my%20branch.info', { kind: 'info', module: 'example.com/a', version: 'my branch' }],
  ])('%p parses to %p', (path, want) => {
    expect(parseGoRequestPath(path)).toEqual(want as never);
  });

  test.each([
    ['', 'an empty path'],
    ['example.com/a', 'a bare module path'],
    ['example.com/a/@v', '@v without a file'],
    ['example.com/a/@v/v1.0.0.tar', 'an unknown file kind'],
    ['example.com/a/@v/v1.0.0', 'a version without an extension'],
    ['example.com/a/@v/.info', 'an empty version'],
    ['favicon.ico', 'something else entirely'],
    ['@latest', '@latest without a module'],
  ])('%p is not a protocol path: 404 (%s)', (path) => {
    expect(statusOf(() => parseGoRequestPath(path))).toBe(404);
  });

  test.each([
    ['github.com/Foo/bar/@v/list', 'an unescaped upper-case letter'],
    ['github.com/!Foo/bar/@v/list', 'a bad escape'],
    ['example.com/../etc/@v/list', 'a .. element'],
    ['example.com/./a/@v/list', 'a . element'],
    ['example.com/a/@v/%2e%2e.info', 'an encoded .. as the version'],
    ['example.com//a/@v/list', 'a double slash'],
    ['/example.com/a/@v/list', 'a leading slash'],
    ['example.com%2fa/@v/list', 'an encoded slash'],
    ['example.com%2Fa/@v/list', 'an encoded slash, upper-case hex'],
    ['example.com%5ca/@v/list', 'an encoded backslash'],
    ['example.com\\a/@v/list', 'a backslash'],
    ['example.com/a/@v/v1.0.0%00.info', 'an encoded NUL'],
    ['example.com/a\u0000/@v/list', 'a NUL'],
    ['example.com/a/@v/v1.0.0%zz.info', 'a malformed percent-escape'],
    ['nodot/@v/list', 'an invalid module path'],
    ['example.com/a/@v/v1.0.zip', 'a non-canonical version for a zip'],
    ['example.com/a/@v/master.mod', 'a query where only a version will do'],
    ['example.com/a/@v/v2.0.0.zip', 'a v2 version on a path without /v2'],
    ['example.com/a/v2/@v/v1.0.0.mod', 'a v1 version on a /v2 path'],
    ['example.com/a/@v/a:b.info', 'a version that is not a valid file name'],
  ])('%p is refused with 400 (%s)', (path) => {
    expect(statusOf(() => parseGoRequestPath(path))).toBe(400);
  });

  test('errors are GoProtocolErrors with a rule and a one-line message', () => {
    try {
      parseGoRequestPath('example.com/../etc/@v/list');
    } catch (e) {
      expect(e).toBeInstanceOf(GoProtocolError);
      expect((e as GoRequestError).rule).toBe('request-dot-element');
      expect((e as Error).message).not.toContain('\n');
    }
  });

  test('every escaped module path and version round-trips through a zip request', () => {
    const elem = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_~-]{0,8}$/);
    const path = fc
      .tuple(fc.constantFrom('example.com', 'github.com', 'go.dev'), fc.array(elem, { minLength: 1, maxLength: 3 }))
      .map(([h, r]) => [h, ...r].join('/'));
    const version = fc.tuple(fc.nat(9), fc.nat(9), fc.constantFrom('', '-RC1', '-beta.2')).map(([a, b, pre]) => `v${a % 2}.${b}.0${pre}`);
    checkProperty(
      fc.property(path, version, (p, v) => {
        if (!isValidModulePath(p) || /\/v[0-9]+$/.test(p)) return;
        expect(parseGoRequestPath(`${escapePath(p)}/@v/${escapeVersion(v)}.zip`)).toEqual({ kind: 'zip', module: p, version: v });
      }),
      { numRuns: 500 },
    );
  });
});

describe('parseSumdbPath', () => {
  test.each([
    ['sumdb/sum.example.org/supported', 'supported'],
    ['sumdb/sum.example.org/latest', 'latest'],
    ['sumdb/sum.example.org/lookup/github.com/!foo/bar@v1.0.0', 'lookup/github.com/!foo/bar@v1.0.0'],
    ['sumdb/sum.example.org/tile/8/0/x123/456', 'tile/8/0/x123/456'],
    ['sumdb/sum.example.org/tile/8/1/000.p/17', 'tile/8/1/000.p/17'],
    ['sumdb/sum.example.org/tile/8/data/x001/234', 'tile/8/data/x001/234'],
    ['sumdb/localhost:3000/latest', 'latest'],
  ])('%p asks the database for %p', (path, rest) => {
    expect(parseSumdbPath(path)).toEqual({ name: path.split('/')[1], rest });
  });

  test.each([
    ['sumdb/sum.example.org/../../etc/passwd', 400],
    ['sumdb/Sum.Example.org/latest', 400],
    ['sumdb/sum_example/latest', 400],
    ['sumdb/sum.example.org%2flatest', 400],
    ['sumdb/sum.example.org/lookup/github.com/Foo/bar@v1.0.0', 400],
    ['sumdb/sum.example.org/lookup/github.com/foo/bar', 400],
    ['sumdb/sum.example.org/tile/8/0/12', 404],
    ['sumdb/sum.example.org/other', 404],
    ['sumdb/sum.example.org', 404],
    ['example.com/a/@v/list', 404],
  ])('%p is refused with %p', (path, status) => {
    expect(statusOf(() => parseSumdbPath(path))).toBe(status);
  });
});

describe('goPaths', () => {
  test.each([
    ['example.com/Upper/m', 'v1.0.0-RC', 'zip'],
    ['example.com/a/v2', 'v2.1.0', 'mod'],
    ['gopkg.in/yaml.v3', 'v3.0.1', 'info'],
  ] as const)('%s@%s.%s is escaped so that parsing it gives the same request back', (module, version, kind) => {
    expect(parseGoRequestPath(goPaths.file(module, version, kind))).toEqual({ kind, module, version });
  });

  test('list and @latest paths parse back to their module', () => {
    expect(parseGoRequestPath(goPaths.list('example.com/Upper'))).toEqual({ kind: 'list', module: 'example.com/Upper' });
    expect(parseGoRequestPath(goPaths.latest('example.com/Upper'))).toEqual({ kind: 'latest', module: 'example.com/Upper' });
  });

  test('a sumdb path parses back to its name and rest', () => {
    expect(parseSumdbPath(goPaths.sumdb('sum.example.org', 'lookup/github.com/!foo/bar@v1.0.0'))).toEqual({
      name: 'sum.example.org',
      rest: 'lookup/github.com/!foo/bar@v1.0.0',
    });
  });
});
