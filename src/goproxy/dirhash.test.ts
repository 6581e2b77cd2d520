import { describe, expect, test } from 'bun:test';
import { createHash } from 'node:crypto';
import { compareCodePoints, goModHash, hash1, sha256Hex } from './dirhash';
import { InvalidPathError } from './errors';

const enc = new TextEncoder();

describe('hash1', () => {
  test("is sha256 over sorted 'hex  name' lines, base64 encoded with an h1: prefix", () => {
    const a = sha256Hex(enc.encode('A'));
    const b = sha256Hex(enc.encode('B'));
    const want = createHash('sha256').update(`${a}  m@v1.0.0/a\n${b}  m@v1.0.0/b\n`).digest('base64');
    expect(
      hash1([
        { name: 'm@v1.0.0/b', sha256Hex: b },
        { name: 'm@v1.0.0/a', sha256Hex: a },
      ]),
    ).toBe('h1:' + want);
  });

  test('of no files is the hash of the empty string', () => {
    expect(hash1([])).toBe('h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=');
  });

  // Go sorts by UTF-8 bytes; UTF-16 order puts U+1D49C before U+FB01, code point order after.
  test('sorts names by code point, not by UTF-16 unit', () => {
    expect(compareCodePoints('\u{1D49C}', '\uFB01')).toBeGreaterThan(0);
    expect('\u{1D49C}' < '\uFB01').toBe(true);
    const files = [
      { name: '\u{1D49C}', sha256Hex: '1' },
      { name: '\uFB01', sha256Hex: '2' },
    ];
    const want = createHash('sha256').update(`2  \uFB01\n1  \u{1D49C}\n`).digest('base64');
    expect(hash1(files)).toBe('h1:' + want);
  });

  test('refuses a file name with a newline, which a go.sum line cannot hold', () => {
    expect(() => hash1([{ name: 'a\nb', sha256Hex: '00' }])).toThrow(InvalidPathError);
  });
});

describe('goModHash', () => {
  // The value the go command records for this exact go.mod (checked by the crosscheck e2e test too).
  test('hashes the go.mod bytes under the bare name go.mod', () => {
    const gomod = enc.encode('module example.com/a\n');
    const want = createHash('sha256')
      .update(`${sha256Hex(gomod)}  go.mod\n`)
      .digest('base64');
    expect(goModHash('example.com/a', 'v1.0.0', gomod)).toBe('h1:' + want);
  });

  test('does not depend on the module path or version', () => {
    const gomod = enc.encode('module example.com/a\n');
    expect(goModHash('example.com/a', 'v1.0.0', gomod)).toBe(goModHash('example.com/b', 'v2.0.0', gomod));
  });
});
