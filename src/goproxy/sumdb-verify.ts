/**
 * Verifying a checksum database lookup as the go command does (x/mod sumdb/note and sumdb/tlog):
 * the signed tree head's Ed25519 signature under the database's verifier key, and the record's
 * inclusion in that tree from the database's hash tiles. A relay or mirror that changes a record
 * then fails here, however consistent the rest of its answer looks.
 * Not here: remembering trees between lookups to detect a forked log (the go command's go.sum
 * database cache); each lookup is checked against the tree it arrived with.
 */
import { createHash } from 'node:crypto';
import { SumdbError } from './sumdb-record';

const ALG_ED25519 = 1;
const HASH_SIZE = 32;
/** The height of the tiles every checksum database serves (x/mod sumdb's tileHeight). */
export const TILE_HEIGHT = 8;
const TILE_WIDTH = 1 << TILE_HEIGHT;
const MAX_NOTE_BYTES = 1 << 20;
const MAX_SIGNATURES = 100;

export interface VerifierKey {
  name: string;
  /** The key hash: first four bytes of SHA-256(name "\n" alg publicKey), as the signature lines carry it. */
  hash: number;
  publicKey: Uint8Array;
}

function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

function base64(s: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) return undefined;
  return new Uint8Array(Buffer.from(s, 'base64'));
}

const enc = new TextEncoder();

/** Parses a verifier key `name+hash+keydata` (GOSUMDB's first field when it carries a key). */
export function parseVerifierKey(vkey: string): VerifierKey {
  const bad = (why: string) => new SumdbError('sumdb-key', `verifier key ${JSON.stringify(vkey)} ${why}`);
  // The key data is base64 and may hold '+' itself: only the first two split.
  const first = vkey.indexOf('+');
  const second = first < 0 ? -1 : vkey.indexOf('+', first + 1);
  if (second < 0) throw bad('is not name+hash+keydata');
  const [name, hashHex, keyData] = [vkey.slice(0, first), vkey.slice(first + 1, second), vkey.slice(second + 1)];
  if (!name || /\s/.test(name)) throw bad('has no usable name');
  if (!/^[0-9a-f]{8}$/.test(hashHex)) throw bad('has a key hash that is not 8 hex digits');
  const key = base64(keyData);
  if (!key || key.length !== 1 + 32) throw bad('has key data that is not an Ed25519 public key');
  if (key[0] !== ALG_ED25519) throw bad(`uses signature algorithm ${key[0]}, not Ed25519`);
  const hash = Number.parseInt(hashHex, 16);
  const want = new DataView(sha256(enc.encode(`${name}\n`), key).buffer).getUint32(0);
  if (want !== hash) throw bad('has a key hash that does not match its name and key');
  return { name, hash, publicKey: key.subarray(1) };
}

/**
 * The text of a signed note once a signature by `key` verifies (x/mod sumdb/note Open with one
 * known verifier). Signatures by other keys are ignored, as the go command ignores unknown signers.
 */
export async function openSignedNote(note: string, key: VerifierKey): Promise<string> {
  const bytes = enc.encode(note);
  if (bytes.length > MAX_NOTE_BYTES) throw new SumdbError('sumdb-note', 'the signed note is too large');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new SumdbError('sumdb-note', 'the signed note has no signatures');
  const text = note.slice(0, split + 1);
  const sigLines = note.slice(split + 2);
  if (!sigLines.endsWith('\n')) throw new SumdbError('sumdb-note', 'the signed note does not end with a newline');
  const lines = sigLines.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw new SumdbError('sumdb-note', 'the signed note has too many signatures');
  for (const line of lines) {
    const m = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!m) throw new SumdbError('sumdb-note', `the signed note has a malformed signature line ${JSON.stringify(line)}`);
    const sig = base64(m[2]);
    if (!sig || sig.length < 5) throw new SumdbError('sumdb-note', 'the signed note has a malformed signature');
    const hash = new DataView(sig.buffer, sig.byteOffset).getUint32(0);
    if (m[1] !== key.name || hash !== key.hash) continue;
    const publicKey = await crypto.subtle.importKey('raw', Uint8Array.from(key.publicKey), { name: 'Ed25519' }, false, ['verify']);
    if (!(await crypto.subtle.verify('Ed25519', publicKey, sig.slice(4), enc.encode(text))))
      throw new SumdbError('sumdb-signature', `the signed tree head's signature by ${key.name} does not verify`);
    return text;
  }
  throw new SumdbError('sumdb-signature', `the signed tree head carries no signature by ${key.name}+${hex8(key.hash)}`);
}

const hex8 = (n: number) => n.toString(16).padStart(8, '0');

export interface TreeHead {
  size: number;
  hash: Uint8Array;
}

/** The text of a tree head note: "go.sum database tree", its size, its root hash. */
export function parseTreeHead(text: string): TreeHead {
  const m = /^go\.sum database tree\n([0-9]{1,16})\n([A-Za-z0-9+/]{43}=)\n$/.exec(text);
  const hash = m ? base64(m[2]) : undefined;
  if (!m || !hash || hash.length !== HASH_SIZE) throw new SumdbError('sumdb-tree', 'the signed note is not a tree head');
  return { size: Number(m[1]), hash };
}

/** A lookup answer cut in three: record id, record text (ending "\n"), and the signed tree head after the blank line. */
export function splitLookup(answer: string): { id: number; text: string; note: string } {
  const m = /^([0-9]{1,16})\n/.exec(answer);
  const end = answer.indexOf('\n\n');
  if (!m || end < 0 || end < m[0].length) throw new SumdbError('sumdb-lookup', 'the lookup answer is not a record');
  return { id: Number(m[1]), text: answer.slice(m[0].length, end + 1), note: answer.slice(end + 2) };
}

export function recordHash(text: string): Uint8Array {
  return sha256(Uint8Array.of(0), enc.encode(text));
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(Uint8Array.of(1), left, right);
}

/** A hash tile's path under the database's URL: tile/H/L/NNN[.p/W], NNN in x-prefixed 3-digit groups. */
export function tilePath(level: number, index: number, width: number): string {
  const digits = String(index).padStart(3, '0');
  const groups: string[] = [];
  for (let end = digits.length; end > 0; end -= 3) groups.unshift(digits.slice(Math.max(0, end - 3), end));
  // The leading group must be 3 digits too ("x001/x234/067").
  groups[0] = groups[0].padStart(3, '0');
  const nnn = groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
  return `tile/${TILE_HEIGHT}/${level}/${nnn}${width < TILE_WIDTH ? `.p/${width}` : ''}`;
}

/** Reads a hash tile's bytes by path (through a relay or the database itself). */
export type TileReader = (path: string) => Promise<Uint8Array>;

/**
 * Checks that the tree `tree` holds `leaf` as record `id`: the root hash is recomputed from the
 * leaf and the hashes beside its path (read from tiles), as x/mod tlog's ProveRecord and
 * CheckRecord do. Every tile hash used feeds the root, so a lying tile fails like a lying record.
 */
export async function verifyInclusion(tree: TreeHead, id: number, leaf: Uint8Array, readTile: TileReader): Promise<void> {
  if (!(id >= 0 && id < tree.size)) throw new SumdbError('sumdb-proof', `record ${id} is outside the signed tree of ${tree.size} records`);
  const tiles = new Map<string, Promise<Uint8Array>>();
  /** The hash of the complete subtree at `level`, `index` (2^level records from index·2^level). */
  const stored = async (level: number, index: number): Promise<Uint8Array> => {
    const tileLevel = Math.floor(level / TILE_HEIGHT);
    const below = level - tileLevel * TILE_HEIGHT;
    const first = index * 2 ** below; // the first hash at level tileLevel·H under this node
    const count = 2 ** below;
    const tileIndex = Math.floor(first / TILE_WIDTH);
    // A tile as wide as the tree makes it: full, or partial at the tree's edge.
    const width = Math.min(TILE_WIDTH, Math.floor(tree.size / 2 ** (tileLevel * TILE_HEIGHT)) - tileIndex * TILE_WIDTH);
    const path = tilePath(tileLevel, tileIndex, width);
    let tile = tiles.get(path);
    if (!tile) {
      tile = readTile(path);
      tiles.set(path, tile);
    }
    const data = await tile;
    if (data.length !== width * HASH_SIZE)
      throw new SumdbError('sumdb-proof', `tile ${path} has ${data.length} bytes, not ${width * HASH_SIZE}`);
    let hashes: Uint8Array[] = [];
    const at = first - tileIndex * TILE_WIDTH;
    for (let i = 0; i < count; i++) hashes.push(data.subarray((at + i) * HASH_SIZE, (at + i + 1) * HASH_SIZE));
    while (hashes.length > 1) {
      const up: Uint8Array[] = [];
      for (let i = 0; i < hashes.length; i += 2) up.push(nodeHash(hashes[i], hashes[i + 1]));
      hashes = up;
    }
    return hashes[0];
  };
  /** The hash of records [lo, hi) as RFC 6962 shapes it, with the record `id` replaced by `leaf`. */
  const subtree = async (lo: number, hi: number): Promise<Uint8Array> => {
    const n = hi - lo;
    if ((n & (n - 1)) === 0 && n > 0 && (id < lo || id >= hi)) return stored(Math.log2(n), lo / n);
    if (n === 1) return leaf;
    let k = 1;
    while (k * 2 < n) k *= 2;
    const [left, right] = await Promise.all([subtree(lo, lo + k), subtree(lo + k, hi)]);
    return nodeHash(left, right);
  };
  const root = await subtree(0, tree.size);
  if (Buffer.compare(root, tree.hash) !== 0)
    throw new SumdbError(
      'sumdb-proof',
      `record ${id} is not in the signed tree of ${tree.size} records (its proof does not lead to the tree's hash)`,
    );
}

/**
 * Verifies a whole lookup answer under `key`: its tree head's signature, then the record's
 * inclusion in that tree. Returns the record text ("M V h1:…\nM V/go.mod h1:…\n") it vouches for.
 */
export async function verifyLookup(answer: string, key: VerifierKey, readTile: TileReader): Promise<string> {
  const { id, text, note } = splitLookup(answer);
  const tree = parseTreeHead(await openSignedNote(note, key));
  await verifyInclusion(tree, id, recordHash(text), readTile);
  return text;
}
