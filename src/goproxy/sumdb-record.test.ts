import { describe, expect, test } from 'bun:test';
import { badGlobPattern, matchesGlobPatterns, parseGosumdb, parseLookup, SumdbError, sumdbLookupPath } from './sumdb-record';

const H1 = `h1:${'A'.repeat(43)}=`;
const H2 = `h1:${'B'.repeat(43)}=`;
const answer = (lines: string[]) => `1234\n${lines.join('\n')}\n\ngo.sum database tree\n99\nabc=\n\n— sum.example.org sig\n`;

describe('parseLookup', () => {
  test('reads the zip and go.mod hashes of the version asked for, ignoring the signed note', () => {
    const text = answer([`example.com/m v1.2.3 ${H1}`, `example.com/m v1.2.3/go.mod ${H2}`]);
    expect(parseLookup(text, 'example.com/m', 'v1.2.3')).toEqual({ h1: H1, goModH1: H2 });
  });

  test('a record for another module or version is refused, naming the line', () => {
    expect(() => parseLookup(answer([`example.com/other v1.2.3 ${H1}`]), 'example.com/m', 'v1.2.3')).toThrow(/foreign line/);
    expect(() => parseLookup(answer([`example.com/m v1.2.4 ${H1}`]), 'example.com/m', 'v1.2.3')).toThrow(/line for v1.2.4/);
  });

  test('an answer without a record id, without records, or with a malformed hash is refused', () => {
    expect(() => parseLookup('<html>not found</html>', 'm.io/x', 'v1.0.0')).toThrow(SumdbError);
    expect(() => parseLookup('12\n\ngo.sum database tree\n', 'm.io/x', 'v1.0.0')).toThrow(/no record/);
    expect(() => parseLookup(answer(['m.io/x v1.0.0 h1:short']), 'm.io/x', 'v1.0.0')).toThrow(/foreign line/);
  });
});

describe('parseGosumdb', () => {
  test('reads name, key and URL as the go command does; "off" and empty mean none', () => {
    expect(parseGosumdb('sum.example.org')).toEqual({ name: 'sum.example.org' });
    expect(parseGosumdb('sum.example.org+abc+KEY https://mirror.example/sumdb')).toEqual({
      name: 'sum.example.org',
      key: 'sum.example.org+abc+KEY',
      url: 'https://mirror.example/sumdb',
    });
    expect(parseGosumdb('off')).toBeUndefined();
    expect(parseGosumdb('  ')).toBeUndefined();
  });

  test('a value with too many fields or a bad name is an error naming it', () => {
    expect(() => parseGosumdb('a b c')).toThrow(/name\[\+key\] \[url\]/);
    expect(() => parseGosumdb('Bad_Name')).toThrow(/not a checksum database name/);
  });
});

describe('matchesGlobPatterns (GONOSUMDB syntax)', () => {
  test('a pattern matches the module path prefix with as many elements', () => {
    expect(matchesGlobPatterns('corp.example.com', 'corp.example.com/team/lib')).toBe(true);
    expect(matchesGlobPatterns('corp.example.com/team', 'corp.example.com/team/lib')).toBe(true);
    expect(matchesGlobPatterns('corp.example.com/team', 'corp.example.com/teams/lib')).toBe(false);
    expect(matchesGlobPatterns('corp.example.com/team/lib/more', 'corp.example.com/team/lib')).toBe(false);
  });

  test('* and ? never cross a slash; classes, lists and spaces work as in the go command', () => {
    expect(matchesGlobPatterns('*.corp.example', 'git.corp.example/x')).toBe(true);
    expect(matchesGlobPatterns('*', 'anything/at/all')).toBe(true);
    expect(matchesGlobPatterns('git.corp.example/*/lib', 'git.corp.example/a/lib/v2')).toBe(true);
    expect(matchesGlobPatterns('git.corp.example/*/lib', 'git.corp.example/a/b/lib')).toBe(false);
    expect(matchesGlobPatterns('m?.example', 'm1.example/x')).toBe(true);
    expect(matchesGlobPatterns('m[0-9].example', 'mx.example/x')).toBe(false);
    expect(matchesGlobPatterns('m[^0-9].example', 'mx.example/x')).toBe(true);
    expect(matchesGlobPatterns(' other.example , corp.example/ ', 'corp.example/y')).toBe(true);
    expect(matchesGlobPatterns('', 'corp.example/y')).toBe(false);
    expect(matchesGlobPatterns('corp.example', 'corpXexample/y')).toBe(false);
  });

  test('a malformed pattern matches nothing and is reported', () => {
    expect(matchesGlobPatterns('corp[.example', 'corp[.example/x')).toBe(false);
    expect(badGlobPattern('ok.example,corp[.example')).toMatch(/corp\[\.example/);
    expect(badGlobPattern('ok.example,*.corp')).toBeUndefined();
  });
});

test('the lookup path escapes capitals as the protocol does', () => {
  expect(sumdbLookupPath('github.com/Foo/bar', 'v1.0.0-RC')).toBe('lookup/github.com/!foo/bar@v1.0.0-!r!c');
});
