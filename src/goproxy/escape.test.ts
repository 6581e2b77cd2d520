import { describe, expect, test } from 'bun:test';
import fc from 'fast-check';
import { checkProperty } from '../../test/support/property';
import { InvalidPathError, InvalidVersionError } from './errors';
import { escapePath, escapeVersion, unescapePath, unescapeVersion } from './escape';
import { isValidModulePath } from './module-path';

describe('escapePath / unescapePath', () => {
  test.each([
    ['github.com/Foo/Bar', 'github.com/!foo/!bar'],
    ['github.com/AzureAD/msal', 'github.com/!azure!a!d/msal'],
    ['example.com/a', 'example.com/a'],
    ['example.com/a~b_c-d.e', 'example.com/a~b_c-d.e'],
  ])('%p escapes to %p and back', (path, escaped) => {
    expect(escapePath(path)).toBe(escaped);
    expect(unescapePath(escaped)).toBe(path);
  });

  // The refusal names the character at fault and the rule it broke: "é" is not an upper-case letter.
  test.each([
    ['github.com/Foo/bar', 'path-escape-upper-case', 'upper-case "F" at offset 11 must be written as "!f"'],
    ['github.com/!Foo/bar', 'path-escape-bang', '"!" at offset 11 is followed by "F": it may only precede a lower-case letter'],
    ['github.com/!1/bar', 'path-escape-bang', '"!" at offset 11 is followed by "1"'],
    ['github.com/foo/bar!', 'path-escape-bang', '"!" at offset 18 is followed by nothing'],
    ['github.com/!!foo', 'path-escape-bang', '"!" at offset 11 is followed by "!"'],
    ['github.com/fü', 'path-escape-non-ascii', 'non-ASCII character "ü" at offset 12: only ASCII is allowed'],
    ['example.com/café', 'path-escape-non-ascii', 'non-ASCII character "é"'],
    ['example.com/\u{1F600}', 'path-escape-non-ascii', 'non-ASCII character "\u{1F600}"'],
  ])('unescapePath refuses %p under rule %s, saying %p', (escaped, rule, reason) => {
    expect(() => unescapePath(escaped)).toThrow(InvalidPathError);
    expect(() => unescapePath(escaped)).toThrow(reason);
    expect(() => unescapePath(escaped)).not.toThrow(rule === 'path-escape-upper-case' ? /never/ : /upper-case/);
    try {
      unescapePath(escaped);
    } catch (e) {
      expect((e as InvalidPathError).rule).toBe(rule);
    }
  });

  test('unescapePath refuses a well-escaped path that is not a valid module path', () => {
    expect(() => unescapePath('github.com/../x')).toThrow(/invalid escaped module path/);
    expect(() => unescapePath('nodot/x')).toThrow(InvalidPathError);
  });

  test('escapePath refuses an invalid module path rather than escaping it', () => {
    expect(() => escapePath('example.com/a b')).toThrow(InvalidPathError);
  });
});

describe('escapeVersion / unescapeVersion', () => {
  test.each([
    ['V1.0.0', 'upper-case "V" at offset 0 must be written as "!v"'],
    ['v1.0.0-é', 'non-ASCII character "é" at offset 7'],
    ['v1.0.0-!', '"!" at offset 7 is followed by nothing'],
  ])('unescapeVersion refuses %p saying %p', (escaped, reason) => {
    expect(() => unescapeVersion(escaped)).toThrow(InvalidVersionError);
    expect(() => unescapeVersion(escaped)).toThrow(reason);
  });

  test.each([
    ['v1.2.3', 'v1.2.3'],
    ['v1.2.3-RC1', 'v1.2.3-!r!c1'],
    ['v2.0.0+incompatible', 'v2.0.0+incompatible'],
    ['Master', '!master'],
  ])('%p escapes to %p and back', (v, escaped) => {
    expect(escapeVersion(v)).toBe(escaped);
    expect(unescapeVersion(escaped)).toBe(v);
  });

  test.each(['v1.0.0!', 'a/b', '..', '', 'v1é'])('escapeVersion refuses %p', (v) => {
    expect(() => escapeVersion(v)).toThrow(InvalidVersionError);
  });

  test.each(['V1.0.0', 'v1.0.0-!', 'v1!.0', '..', 'a:b'])('unescapeVersion refuses %p', (v) => {
    expect(() => unescapeVersion(v)).toThrow(InvalidVersionError);
  });
});

describe('properties', () => {
  const firstElem = fc.stringMatching(/^[a-z0-9]{1,6}\.[a-z]{2,4}$/);
  const elem = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_~-]{0,8}$/);
  const modulePath = fc
    .tuple(firstElem, fc.array(elem, { minLength: 0, maxLength: 4 }))
    .map(([h, rest]) => [h, ...rest].join('/'))
    .filter(isValidModulePath);

  test('unescapePath(escapePath(p)) is p for every valid module path', () => {
    checkProperty(
      fc.property(modulePath, (p) => {
        const e = escapePath(p);
        expect(e).not.toMatch(/[A-Z]/);
        expect(unescapePath(e)).toBe(p);
      }),
      { numRuns: 2000 },
    );
  });

  test('paths that differ only in case escape to different strings', () => {
    checkProperty(
      fc.property(modulePath, (p) => {
        const flipped = p.replace(/[a-z]/g, (c, i) => (i > p.indexOf('/') && p.indexOf('/') > 0 ? c.toUpperCase() : c));
        if (flipped !== p && isValidModulePath(flipped)) expect(escapePath(flipped)).not.toBe(escapePath(p));
      }),
    );
  });

  test('unescapeVersion(escapeVersion(v)) is v for printable ASCII versions', () => {
    const version = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9.+_-]{0,15}$/).filter((v) => !v.endsWith('.'));
    checkProperty(
      fc.property(version, (v) => {
        expect(unescapeVersion(escapeVersion(v))).toBe(v);
      }),
      { numRuns: 2000 },
    );
  });

  test('unescaping never accepts an upper-case letter', () => {
    checkProperty(
      fc.property(fc.string({ maxLength: 12 }), (s) => {
        if (!/[A-Z]/.test(s)) return;
        expect(() => unescapeVersion(s)).toThrow(InvalidVersionError);
        expect(() => unescapePath('example.com/' + s)).toThrow(InvalidPathError);
      }),
    );
  });
});
