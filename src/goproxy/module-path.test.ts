import { describe, expect, test } from 'bun:test';
import { InvalidPathError, InvalidVersionError } from './errors';
import {
  checkFilePath,
  checkImportPath,
  checkModulePath,
  checkPathMajor,
  checkPathVersion,
  cleanPath,
  compareModulePaths,
  isValidModulePath,
  sortByModulePath,
  splitPathVersion,
} from './module-path';

function ruleOf(fn: () => void): string | null {
  try {
    fn();
    return null;
  } catch (e) {
    if (e instanceof InvalidPathError || e instanceof InvalidVersionError) return e.rule;
    throw e;
  }
}

describe('checkModulePath', () => {
  test.each([
    'example.com/a',
    'github.com/Foo/Bar',
    'example.com/a/v2',
    'example.com/a-b_c~d',
    'gopkg.in/yaml.v2',
    'gopkg.in/check.v1',
    'gopkg.in/src-d/go-git.v4',
    'gopkg.in/x.v2-unstable',
    'example.com/a~b',
    'x.y',
  ])('accepts %p', (p) => {
    expect(() => checkModulePath(p)).not.toThrow();
    expect(isValidModulePath(p)).toBe(true);
  });

  test.each([
    ['', 'path-empty'],
    ['-example.com', 'path-leading-dash'],
    ['example.com//a', 'path-double-slash'],
    ['example.com/a/', 'path-trailing-slash'],
    ['example.com/./a', 'path-dot-element'],
    ['example.com/../a', 'path-dot-element'],
    ['example.com/.a', 'path-leading-dot'],
    ['example.com/a.', 'path-trailing-dot'],
    ['example.com/a+b', 'path-invalid-char'],
    ['example.com/a b', 'path-invalid-char'],
    ['example.com/é', 'path-invalid-char'],
    ['example.com/con', 'path-windows-reserved'],
    ['example.com/LPT1.txt', 'path-windows-reserved'],
    ['example.com/abc~1', 'path-tilde-digits'],
    ['example/a', 'module-path-first-element'],
    ['Example.com/a', 'module-path-first-element'],
    ['exa_mple.com/a', 'module-path-first-element'],
    ['example.com/a/v1', 'module-path-version'],
    ['example.com/a/v0', 'module-path-version'],
    ['example.com/a/v02', 'module-path-version'],
    ['example.com/a/v2.1', 'module-path-version'],
    ['gopkg.in/yaml', 'module-path-version'],
    ['gopkg.in/yaml.v01', 'module-path-version'],
  ])('refuses %p with rule %p', (p, rule) => {
    expect(ruleOf(() => checkModulePath(p))).toBe(rule);
    expect(isValidModulePath(p)).toBe(false);
  });

  test('the message names the path and what is wrong with it', () => {
    expect(() => checkModulePath('example.com/../a')).toThrow('malformed module path "example.com/../a": path element ".." is not allowed');
  });
});

describe('checkImportPath and checkFilePath', () => {
  test('an import path may contain + and need not have a dot', () => {
    expect(() => checkImportPath('a/b+c')).not.toThrow();
    expect(() => checkModulePath('a.com/b+c')).toThrow(InvalidPathError);
  });

  test.each(['a.go', '-dash/x.go', '.github/workflows/ci.yml', 'A B/c (1).txt', 'données/é.txt', 'x/@v/#$%&()+,=[]^{}~!.go', 'abc~1.txt'])(
    'file path %p is allowed',
    (p) => {
      expect(() => checkFilePath(p)).not.toThrow();
    },
  );

  test.each([
    ['a:b', 'path-invalid-char'],
    ['a"b', 'path-invalid-char'],
    ['a\\b', 'path-invalid-char'],
    ['a\u0000b', 'path-invalid-char'],
    ['a\u00a0b', 'path-invalid-char'],
    ['😀.txt', 'path-invalid-char'],
    ['aux.go', 'path-windows-reserved'],
    ['sub/COM9', 'path-windows-reserved'],
    ['..', 'path-dot-element'],
    ['a/./b', 'path-dot-element'],
    ['a/...', 'path-dot-element'],
    ['a./b', 'path-trailing-dot'],
    ['/a', 'path-empty-element'],
    ['a//b', 'path-double-slash'],
    ['a/', 'path-trailing-slash'],
    ['', 'path-empty'],
    ['a\uD800b', 'path-invalid-utf8'],
  ])('file path %p is refused with rule %p', (p, rule) => {
    expect(ruleOf(() => checkFilePath(p))).toBe(rule);
  });
});

describe('major version suffixes', () => {
  test.each([
    ['example.com/a', 'example.com/a', '', true],
    ['example.com/a/v2', 'example.com/a', '/v2', true],
    ['example.com/a/v10', 'example.com/a', '/v10', true],
    ['example.com/a/v1', 'example.com/a/v1', '', false],
    ['example.com/v2', 'example.com', '/v2', true],
    ['gopkg.in/yaml.v2', 'gopkg.in/yaml', '.v2', true],
    ['gopkg.in/yaml.v0', 'gopkg.in/yaml', '.v0', true],
    ['gopkg.in/x.v2-unstable', 'gopkg.in/x', '.v2-unstable', true],
  ])('splitPathVersion(%p) is {prefix %p, pathMajor %p, ok %p}', (path, prefix, pathMajor, ok) => {
    const got = splitPathVersion(path);
    expect(got.ok).toBe(ok);
    if (ok) expect(got).toEqual({ prefix, pathMajor, ok });
  });

  test.each([
    ['v1.2.3', ''],
    ['v0.1.0', ''],
    ['v2.0.0+incompatible', ''],
    ['v2.0.0', '/v2'],
    ['v2.1.0-pre', '/v2'],
    ['v1.0.0', '.v1'],
    ['v0.0.0-20191109021931-daa7c04131f5', '.v1'],
    ['v2.5.0', '.v2-unstable'],
  ])('version %p fits path suffix %p', (v, pathMajor) => {
    expect(() => checkPathMajor(v, pathMajor)).not.toThrow();
  });

  test.each([
    ['v2.0.0', ''],
    ['v1.0.0', '/v2'],
    ['v3.0.0', '/v2'],
    ['v2.0.0', '.v1'],
  ])('version %p does not fit path suffix %p', (v, pathMajor) => {
    expect(ruleOf(() => checkPathMajor(v, pathMajor))).toBe('version-major');
  });

  test('a v2+ version on a path without /vN needs +incompatible, and the message says so', () => {
    expect(() => checkPathVersion('example.com/a', 'v2.0.0')).toThrow(/should be v0 or v1, not v2.*\+incompatible/);
    expect(() => checkPathVersion('example.com/a', 'v2.0.0+incompatible')).not.toThrow();
    expect(() => checkPathVersion('example.com/a/v2', 'v2.0.0')).not.toThrow();
  });

  test('checkPathVersion refuses something that is not a semantic version', () => {
    expect(ruleOf(() => checkPathVersion('example.com/a', 'master'))).toBe('version-syntax');
  });
});

describe("cleanPath (Go's path.Clean)", () => {
  test.each([
    ['', '.'],
    ['a/b', 'a/b'],
    ['a//b', 'a/b'],
    ['a/./b', 'a/b'],
    ['a/../b', 'b'],
    ['../a', '../a'],
    ['/../a', '/a'],
    ['a/b/', 'a/b'],
    ['./', '.'],
    ['/', '/'],
  ])('cleanPath(%p) is %p', (p, want) => {
    expect(cleanPath(p)).toBe(want);
  });
});

describe('compareModulePaths (natural order)', () => {
  test('runs of digits compare by value, so svc-2 comes before svc-10', () => {
    const paths = ['example.com/svc-10', 'example.com/svc-2', 'example.com/svc-1', 'example.com/svc-11', 'example.com/svc'];
    expect(paths.sort(compareModulePaths)).toEqual([
      'example.com/svc',
      'example.com/svc-1',
      'example.com/svc-2',
      'example.com/svc-10',
      'example.com/svc-11',
    ]);
  });

  test.each([
    ['a/v2', 'a/v10', -1],
    ['a/b', 'a/b', 0],
    ['a/b2c', 'a/b2d', -1],
    ['x/007', 'x/7', -1], // equal by value: plain order decides, so the order stays total
    ['example.com/z', 'example.com/a1', 1],
    ['example.com/Team/b', 'example.com/team/a', 1], // case is ignored first
    ['example.com/Team/a', 'example.com/team/a', -1], // then decides a tie
    ['a/99999999999999999999', 'a/100000000000000000000', -1], // longer than a double holds exactly
  ])('%s against %s gives the sign %d', (a, b, sign) => {
    expect(Math.sign(compareModulePaths(a, b))).toBe(sign);
    expect(Math.sign(compareModulePaths(b, a))).toBe(-sign || 0);
  });
});

describe('sortByModulePath', () => {
  test('orders as compareModulePaths does, on paths with digits, case and leading zeros', () => {
    const parts = ['a', 'B', '0', '1', '2', '10', '007', '-', '.', '/', 'v2', 'Z9'];
    const paths: string[] = [];
    for (let i = 0; i < 2000; i++) {
      let p = '';
      for (let k = 0; k < 1 + (i % 5); k++) p += parts[(i * 7 + k * 13 + ((i >> 3) % 11)) % parts.length];
      paths.push(p);
    }
    expect(sortByModulePath(paths, (p) => p)).toEqual([...paths].sort(compareModulePaths));
  });
});
