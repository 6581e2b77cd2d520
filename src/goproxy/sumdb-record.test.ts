import { describe, expect, test } from 'bun:test';
import { parseGosumdb, parseLookup, SumdbError, sumdbLookupPath } from './sumdb-record';

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

test('the lookup path escapes capitals as the protocol does', () => {
  expect(sumdbLookupPath('github.com/Foo/bar', 'v1.0.0-RC')).toBe('lookup/github.com/!foo/bar@v1.0.0-!r!c');
});
