/**
 * The "h1:" hash go.sum records (x/mod sumdb/dirhash.Hash1): a
 * SHA-256 over the sorted lines "<sha256 hex of file>  <file name>\n".
 */
import { createHash } from 'node:crypto';
import { InvalidPathError } from './errors';

export interface HashedFile {
  name: string;
  sha256Hex: string;
}

/**
 * Go sorts names as byte strings, i.e. by UTF-8 bytes, which is code point
 * order; JS's default comparison is UTF-16 order and disagrees past U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

const surrogate = /[\uD800-\uDFFF]/;

export function hash1(files: HashedFile[]): string {
  // UTF-16 order equals code point order unless a name has a surrogate pair; the plain compare is much faster.
  const fast = !files.some((f) => surrogate.test(f.name));
  const sorted = [...files].sort(
    fast ? (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : (a, b) => compareCodePoints(a.name, b.name),
  );
  const h = createHash('sha256');
  let batch = '';
  for (const f of sorted) {
    if (f.name.includes('\n')) {
      throw new InvalidPathError(
        'dirhash-newline',
        `file name ${JSON.stringify(f.name)} contains a newline, which go.sum hashes cannot represent`,
      );
    }
    batch += `${f.sha256Hex}  ${f.name}\n`;
    if (batch.length > 1 << 16) h.update(batch), (batch = '');
  }
  return 'h1:' + h.update(batch).digest('base64');
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * The "<module> <version>/go.mod h1:..." line of go.sum. Only the go.mod bytes
 * count (hashed under the bare name "go.mod"); module and version are taken so
 * call sites read like the go.sum line they produce.
 */
export function goModHash(_modulePath: string, _version: string, goModBytes: Uint8Array): string {
  return hash1([{ name: 'go.mod', sha256Hex: sha256Hex(goModBytes) }]);
}
