import { describe, expect, test } from 'bun:test';
import { createHash } from 'node:crypto';
import fixture from '../../test/fixtures/sumdb/uuid-v1.6.0.json';
import { goDefaultSumdbKey } from '../../test/support/go';
import { SumdbError } from './sumdb-record';
import {
  openSignedNote,
  parseTreeHead,
  parseVerifierKey,
  recordHash,
  splitLookup,
  type TileReader,
  tilePath,
  type VerifierKey,
  verifyInclusion,
  verifyLookup,
} from './sumdb-verify';

// A real lookup answer and the tiles its proof reads, recorded from the checksum database through the
// upstream `go env GOPROXY` names (test/fixtures/sumdb); the key is the go command's own (key.go).
// The fixture writes the database's name as {name}, so that no registry host is written in the project.
const defaultKey = goDefaultSumdbKey();
const dbName = defaultKey?.split('+')[0] ?? 'db.invalid';
const lookup = fixture.lookup.replace('{name}', dbName);
const tiles: TileReader = async (path) => {
  const t = (fixture.tiles as Record<string, string>)[path];
  if (!t) throw new Error(`no fixture tile ${path}`);
  return new Uint8Array(Buffer.from(t, 'base64'));
};
const flip = (s: string, at: number) => s.slice(0, at) + (s[at] === 'A' ? 'B' : 'A') + s.slice(at + 1);

async function newKey(name: string): Promise<{ key: VerifierKey; sign: (text: string) => Promise<string> }> {
  const pair = (await crypto.subtle.generateKey('Ed25519', true, ['sign', 'verify'])) as CryptoKeyPair;
  const pub = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
  const data = Uint8Array.of(1, ...pub);
  const hash = createHash('sha256').update(`${name}\n`).update(data).digest().readUInt32BE(0);
  const vkey = `${name}+${hash.toString(16).padStart(8, '0')}+${Buffer.from(data).toString('base64')}`;
  return {
    key: parseVerifierKey(vkey),
    sign: async (text) => {
      const sig = new Uint8Array(await crypto.subtle.sign('Ed25519', pair.privateKey, new TextEncoder().encode(text)));
      const head = Buffer.alloc(4);
      head.writeUInt32BE(hash);
      return `${text}\n\u2014 ${name} ${Buffer.concat([head, sig]).toString('base64')}\n`;
    },
  };
}

describe('a real lookup with the go command default key', () => {
  test.skipIf(!defaultKey)('verifies: signature, then inclusion from the tiles, giving the record text', async () => {
    const text = await verifyLookup(lookup, parseVerifierKey(defaultKey!), tiles);
    expect(text).toStartWith(`${fixture.module} ${fixture.version} h1:`);
    expect(text.split('\n')).toHaveLength(3);
  });

  test.skipIf(!defaultKey)('a changed record hash is refused: its proof does not reach the signed tree', async () => {
    const at = lookup.indexOf('h1:') + 5;
    await expect(verifyLookup(flip(lookup, at), parseVerifierKey(defaultKey!), tiles)).rejects.toThrow(/not in the signed tree/);
  });

  test.skipIf(!defaultKey)('a changed tree hash is refused: the signature no longer verifies', async () => {
    const at = lookup.indexOf('go.sum database tree\n') + 'go.sum database tree\n'.length;
    const treeLine = lookup.indexOf('\n', at) + 1;
    await expect(verifyLookup(flip(lookup, treeLine + 3), parseVerifierKey(defaultKey!), tiles)).rejects.toThrow(/does not verify/);
  });

  test.skipIf(!defaultKey)('a tile with one changed hash is refused', async () => {
    const [first] = Object.keys(fixture.tiles);
    const lying: TileReader = async (path) => {
      const b = await tiles(path);
      if (path === first) b[0] ^= 1;
      return b;
    };
    await expect(verifyLookup(lookup, parseVerifierKey(defaultKey!), lying)).rejects.toThrow(/not in the signed tree/);
  });

  test.skipIf(!defaultKey)('a truncated tile is refused, naming it', async () => {
    const short: TileReader = async (path) => (await tiles(path)).subarray(32);
    await expect(verifyLookup(lookup, parseVerifierKey(defaultKey!), short)).rejects.toThrow(/tile tile\/8\/.* has/);
  });

  test('a note signed by another key with the same name is refused', async () => {
    const other = await newKey(dbName);
    await expect(verifyLookup(lookup, other.key, tiles)).rejects.toThrow(/carries no signature by/);
  });
});

describe('signed notes under a key of our own', () => {
  test('a signature by the key verifies; one by an unknown signer is ignored; a bad one is refused', async () => {
    const a = await newKey('db.example');
    const b = await newKey('other.example');
    const text = 'go.sum database tree\n5\nczPocWFmMwQrSENohgEPvFiqA+2i/3lRZhHbxtma2UQ=\n';
    const signedA = await a.sign(text);
    expect(await openSignedNote(signedA, a.key)).toBe(text);
    const both = `${signedA}${(await b.sign(text)).split('\n\n')[1]}`;
    expect(await openSignedNote(both, a.key)).toBe(text);
    await expect(openSignedNote(await b.sign(text), a.key)).rejects.toThrow(/no signature by db\.example/);
    await expect(openSignedNote(signedA.replace('\n5\n', '\n6\n'), a.key)).rejects.toThrow(/does not verify/);
    await expect(openSignedNote(text, a.key)).rejects.toThrow(SumdbError);
  });

  test('a record outside the signed tree is refused before any tile is read', async () => {
    const tree = parseTreeHead('go.sum database tree\n5\nczPocWFmMwQrSENohgEPvFiqA+2i/3lRZhHbxtma2UQ=\n');
    await expect(verifyInclusion(tree, 5, recordHash('x\n'), tiles)).rejects.toThrow(/outside the signed tree/);
  });

  test('a one-record tree is its record hash: nothing is read', async () => {
    const leaf = recordHash('m v1.0.0 h1:x\n');
    const tree = { size: 1, hash: leaf };
    await verifyInclusion(tree, 0, leaf, async () => {
      throw new Error('no tile needed');
    });
  });
});

describe('verifier keys, tile paths, lookup answers', () => {
  test('a key whose hash does not match its name and key data is refused', () => {
    expect(() => parseVerifierKey('db.example+00000000+AQ' + 'A'.repeat(42))).toThrow(/key hash that does not match/);
    expect(() => parseVerifierKey('db.example')).toThrow(/name\+hash\+keydata/);
    expect(() => parseVerifierKey('db.example+zz+AAAA')).toThrow(/8 hex digits/);
    expect(() => parseVerifierKey('db.example+00000000+AAAA')).toThrow(/not an Ed25519 public key/);
  });

  test.each([
    [0, 0, 256, 'tile/8/0/000'],
    [1, 338, 256, 'tile/8/1/338'],
    [0, 86534, 256, 'tile/8/0/x086/534'],
    [2, 1234067, 7, 'tile/8/2/x001/x234/067.p/7'],
  ])('tile level %i index %i width %i is %s', (level, index, width, path) => {
    expect(tilePath(level, index, width)).toBe(path);
  });

  test('a lookup answer splits into id, record text and note', () => {
    const { id, text, note } = splitLookup(lookup);
    expect(id).toBeGreaterThan(0);
    expect(text.endsWith('\n')).toBe(true);
    expect(note).toStartWith('go.sum database tree\n');
    expect(() => splitLookup('not a record')).toThrow(SumdbError);
  });
});
