import { describe, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { deflateSync } from 'fflate';
import { invalidZipCorpus } from '../../test/fixtures/invalid-module-zips';
import { checkAsyncProperty } from '../../test/support/property';
import { buildModuleZip, buildZip, moduleZipEntries } from '../../test/support/zipbuild';
import { hash1, sha256Hex } from './dirhash';
import { InvalidPathError, InvalidVersionError, InvalidZipError } from './errors';
import { pathProblem } from './module-path';
import { checkModuleZip, foldKey, type RandomAccessReader, readerFromBytes } from './zip-check';

const enc = new TextEncoder();
const M = 'example.com/a';
const V = 'v1.0.0';
const P = `${M}@${V}/`;

/** The h1 the go command would compute: every entry, directories included (with empty content). */
function expectedH1(files: Record<string, string | Uint8Array>, dirs: string[] = []): string {
  return hash1([
    ...Object.entries(files).map(([n, d]) => ({ name: P + n, sha256Hex: sha256Hex(typeof d === 'string' ? enc.encode(d) : d) })),
    ...dirs.map((d) => ({ name: P + d, sha256Hex: sha256Hex(new Uint8Array(0)) })),
  ]);
}

async function refusal(p: Promise<unknown>): Promise<InvalidZipError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof InvalidZipError) return e;
    throw e;
  }
  throw new Error('zip was accepted');
}

/** Counts what is read, to show the checker stops early. */
function countingReader(bytes: Uint8Array): RandomAccessReader & { bytesRead: number } {
  const inner = readerFromBytes(bytes);
  const r = {
    size: inner.size,
    bytesRead: 0,
    read: async (o: number, l: number) => {
      const b = await inner.read(o, l);
      r.bytesRead += b.length;
      return b;
    },
  };
  return r;
}

const files = { 'go.mod': `module ${M}\n`, 'a.go': 'package a\n', 'sub/dir/b.go': 'package dir\n', LICENSE: 'MIT\n' };

/**
 * Random file names for properties about valid zips: only names the checker's own file-path rules accept
 * (a random "nul.go" or "COM1/x.go" is a Windows-reserved name, rightly refused; that has its own property).
 */
const validFileName = fc
  .stringMatching(/^[A-Za-z0-9_-]{1,5}(\/[A-Za-z0-9_-]{1,5}){0,2}\.go$/)
  .filter((n) => pathProblem(n, 'file') === null);

/** Whether names can share one zip: none equal to another under case folding, none both a file and a directory. */
function canShareAZip(names: string[]): boolean {
  const seen = new Map<string, { path: string; isDir: boolean }>();
  for (const name of names) {
    const elems = name.split('/');
    for (let i = 1; i <= elems.length; i++) {
      const path = elems.slice(0, i).join('/');
      const isDir = i < elems.length;
      const other = seen.get(foldKey(path));
      if (other && (other.path !== path || other.isDir !== isDir || !isDir)) return false;
      seen.set(foldKey(path), { path, isDir });
    }
  }
  return true;
}

const WINDOWS_RESERVED = ['CON', 'PRN', 'AUX', 'NUL', ...[1, 2, 3, 4, 5, 6, 7, 8, 9].flatMap((d) => [`COM${d}`, `LPT${d}`])];

describe('valid module zips', () => {
  test('are accepted with the go.sum hash, the root go.mod and the file count', async () => {
    const got = await checkModuleZip(readerFromBytes(buildModuleZip(M, V, files)), M, V);
    expect(got.h1).toBe(expectedH1(files));
    expect(new TextDecoder().decode(got.goMod!)).toBe(`module ${M}\n`);
    expect(got.files).toBe(4);
    expect(got.uncompressedSize).toBe(Object.values(files).reduce((n, s) => n + s.length, 0));
  });

  // archive/zip hashes directory entries too, so they change the h1 though they hold nothing.
  test('count directory entries in the hash but not in the file count', async () => {
    const got = await checkModuleZip(readerFromBytes(buildModuleZip(M, V, files, { directories: true })), M, V);
    expect(got.h1).toBe(expectedH1(files, ['sub/', 'sub/dir/']));
    expect(got.files).toBe(4);
  });

  test('a module without go.mod has goMod null', async () => {
    const got = await checkModuleZip(readerFromBytes(buildModuleZip(M, V, { 'a.go': 'package a\n' })), M, V);
    expect(got.goMod).toBeNull();
  });

  test('an empty module zip is valid', async () => {
    const got = await checkModuleZip(readerFromBytes(buildZip([])), M, V);
    expect(got).toEqual({ h1: hash1([]), goMod: null, files: 0, uncompressedSize: 0, notes: [] });
  });

  test.each([
    ['stored', { method: 0 as const }],
    ['deflated', { method: 8 as const }],
    ['with data descriptors', { dataDescriptor: true }],
    ['in zip64 form', { zip64: true }],
    ['with a zip comment', { comment: 'made by hand' }],
  ])('the hash is the same whether entries are %s', async (_name, opts) => {
    const got = await checkModuleZip(readerFromBytes(buildModuleZip(M, V, files, opts)), M, V);
    expect(got.h1).toBe(expectedH1(files));
  });

  test('the result does not depend on the chunk size of range reads or the inflate engine', async () => {
    const fileArb = fc.dictionary(validFileName, fc.oneof(fc.string({ maxLength: 3000 }), fc.uint8Array({ maxLength: 3000 })), {
      minKeys: 1,
      maxKeys: 6,
    });
    await checkAsyncProperty(
      fc.asyncProperty(
        fileArb.filter((fs) => canShareAZip(Object.keys(fs))),
        fc.integer({ min: 1, max: 70_000 }),
        fc.boolean(),
        fc.constantFrom('native', 'fflate' as const),
        async (fs, chunkSize, zip64, inflate) => {
          const got = await checkModuleZip(readerFromBytes(buildModuleZip(M, V, fs, { zip64 })), M, V, { chunkSize, inflate });
          expect(got.h1).toBe(expectedH1(fs));
        },
      ),
      { numRuns: 60 },
    );
  });

  test('unicode letters in file names are allowed', async () => {
    const fs = { 'données/é.txt': 'x', '\u{1D49C}.txt': 'y', '\uFB01.txt': 'z' };
    expect((await checkModuleZip(readerFromBytes(buildModuleZip(M, V, fs)), M, V)).h1).toBe(expectedH1(fs));
  });

  test('a /v2 module and a +incompatible version are accepted', async () => {
    const m2 = 'example.com/a/v2';
    await checkModuleZip(readerFromBytes(buildModuleZip(m2, 'v2.1.0', { 'go.mod': `module ${m2}\n` })), m2, 'v2.1.0');
    await checkModuleZip(readerFromBytes(buildModuleZip(M, 'v2.0.0+incompatible', { 'a.go': 'package a\n' })), M, 'v2.0.0+incompatible');
  });
});

describe('refusals', () => {
  const engines = ['native', 'fflate'] as const;
  test.each(invalidZipCorpus().flatMap((c) => engines.map((engine) => [c.id, engine, c] as const)))(
    '%s is refused with its rule named (%s inflate)',
    async (_id, inflate, c) => {
      const e = await refusal(checkModuleZip(readerFromBytes(c.zip), c.module, c.version, { inflate }));
      expect(e.rule).toBe(c.rule);
      expect(e.message).not.toContain('\n');
      if (e.entry) expect(e.message).toContain(JSON.stringify(e.entry));
    },
  );

  test('a Windows-reserved name is refused in any case, with any extension, as a file or a directory', async () => {
    const reservedName = fc
      .tuple(fc.constantFrom(...WINDOWS_RESERVED), fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }))
      .map(([n, upper]) => [...n].map((c, i) => (upper[i] ? c : c.toLowerCase())).join(''));
    const path = fc
      .tuple(fc.constantFrom('', 'sub/', 'a/b/'), reservedName, fc.constantFrom('', '.go', '.txt', '.tar.gz'), fc.boolean())
      .map(([dir, name, ext, asDirectory]) => `${dir}${name}${ext}${asDirectory ? '/x.go' : ''}`);
    await checkAsyncProperty(
      fc.asyncProperty(path, async (p) => {
        const e = await refusal(checkModuleZip(readerFromBytes(buildModuleZip(M, V, { 'a.go': 'package a\n', [p]: 'x' })), M, V));
        expect(e.rule).toBe('path-windows-reserved');
        expect(e.entry).toBe(P + p);
      }),
      { numRuns: 200 },
    );
  });

  test('the message names the entry and the problem', async () => {
    const zip = buildZip([{ name: P + '../a', data: 'x' }]);
    const e = await refusal(checkModuleZip(readerFromBytes(zip), M, V));
    expect(e.message).toBe(`zip entry "${P}../a": path element ".." is not allowed`);
    expect(e.entry).toBe(P + '../a');
  });

  test.each([
    ['zip-too-large', { maxZipFile: 100 }, { 'a.go': 'x' }],
    ['content-too-large', { maxZipFile: 10_000 }, { 'a.go': 'x'.repeat(6000), 'b.go': 'y'.repeat(6000) }],
    ['gomod-too-large', { maxGoMod: 10 }, { 'go.mod': `module ${M}\n` }],
    ['license-too-large', { maxLicense: 3 }, { LICENSE: 'MIT\n' }],
    ['too-many-entries', { maxEntries: 2 }, { 'a.go': 'a', 'b.go': 'b', 'c.go': 'c' }],
  ])('%s is enforced against the configured limit', async (rule, limits, fs) => {
    const e = await refusal(checkModuleZip(readerFromBytes(buildModuleZip(M, V, fs)), M, V, { limits }));
    expect(e.rule).toBe(rule);
  });

  test.each([
    ['v1.0', InvalidVersionError, 'version-not-canonical'],
    ['v1.0.0+meta', InvalidVersionError, 'version-not-canonical'],
    ['v2.0.0', InvalidVersionError, 'version-major'],
    ['master', InvalidVersionError, 'version-not-canonical'],
  ])('version %p is refused before reading the zip', async (version, Cls, rule) => {
    const r = countingReader(buildModuleZip(M, 'v1.0.0', files));
    const e = await checkModuleZip(r, M, version).catch((x) => x);
    expect(e).toBeInstanceOf(Cls);
    expect(e.rule).toBe(rule);
    expect(r.bytesRead).toBe(0);
  });

  test('an invalid module path is refused as an InvalidPathError', async () => {
    await expect(checkModuleZip(readerFromBytes(buildZip([])), 'nodot/a', V)).rejects.toBeInstanceOf(InvalidPathError);
  });

  // A deflate bomb: 64 MiB of zeros that claims to be 1 KiB must stop at the first slice that overshoots.
  const bomb = deflateSync(new Uint8Array(64 << 20), { level: 9 });
  test.each(engines)('a zip bomb is stopped as soon as it outgrows its declared size (%s inflate)', async (inflate) => {
    const zip = buildZip([{ name: P + 'bomb.bin', data: '', method: 8, compressed: bomb, declaredSize: 1024, crc32: 1 }]);
    const r = countingReader(zip);
    const e = await refusal(checkModuleZip(r, M, V, { chunkSize: 4096, inflate }));
    expect(e.rule).toBe('size-mismatch');
    expect(r.bytesRead).toBeLessThan(bomb.length / 4);
  });

  // Go's flate reader stops at the final block; fflate does too, the native engine refuses what follows.
  test('bytes after the end of a deflate stream are refused by the native engine and ignored by fflate', async () => {
    const data = enc.encode('package a\n');
    const compressed = new Uint8Array([...deflateSync(data), 1, 2, 3]);
    const zip = buildZip([{ name: P + 'a.go', data, method: 8, compressed }]);
    expect((await refusal(checkModuleZip(readerFromBytes(zip), M, V))).rule).toBe('corrupt-data');
    expect((await checkModuleZip(readerFromBytes(zip), M, V, { inflate: 'fflate' })).files).toBe(1);
  });

  test('a reader that returns short reads is reported as a broken zip, not a crash', async () => {
    const zip = buildModuleZip(M, V, files);
    const r: RandomAccessReader = { size: zip.length + 100, read: async (o, l) => zip.subarray(o, o + l) };
    expect((await refusal(checkModuleZip(r, M, V))).rule).toBe('zip-format');
  });

  // The storage dying mid-check must not be reported as a bad zip: the client would not retry.
  test.each([
    ['native', 8],
    ['fflate', 8],
    ['native', 0],
  ] as const)('a reader failing mid-entry surfaces its own error, not corrupt data (%s inflate, method %d)', async (inflate, method) => {
    const big = new Uint8Array(randomBytes(1 << 20)); // incompressible: the data stays 1 MiB in the zip too
    const zip = buildModuleZip(M, V, { ...files, 'big.bin': big }, { method });
    const lost = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const inner = readerFromBytes(zip);
    // Reads of the central directory (the zip's tail) and the first entries succeed; the middle is gone.
    const r: RandomAccessReader = {
      size: zip.length,
      read: async (o, l) => {
        if (o >= 64 * 1024 && o < zip.length - 128 * 1024) throw lost;
        return inner.read(o, l);
      },
    };
    await expect(checkModuleZip(r, M, V, { chunkSize: 4096, inflate })).rejects.toBe(lost);
  });

  test('an aborted signal stops the check', async () => {
    const ac = new AbortController();
    ac.abort(new Error('client went away'));
    await expect(checkModuleZip(readerFromBytes(buildModuleZip(M, V, files)), M, V, { signal: ac.signal })).rejects.toThrow(
      'client went away',
    );
  });
});

describe('foldKey', () => {
  test.each([
    ['abc/def.go', 'ABC/Def.GO'],
    ['k', '\u212A'], // Kelvin sign folds to k
    ['s', '\u017F'], // long s folds to s
    ['σ', 'ς'],
  ])('%p and %p collide', (a, b) => {
    expect(foldKey(a)).toBe(foldKey(b));
  });

  // "ß" upper-cases to "SS" only under full case mapping; the Turkish dotted and dotless i fold only
  // under Turkish rules. Go's EqualFold keeps each pair apart, so a zip may hold both.
  test.each([
    ['ß', 'ss'],
    ['\u0131', 'i'],
    ['\u0131', 'I'],
    ['\u0130', 'i'],
  ])('%p and %p do not collide', (a, b) => {
    expect(foldKey(a)).not.toBe(foldKey(b));
  });

  test('moduleZipEntries and buildZip agree with what checkModuleZip reads back', async () => {
    const entries = moduleZipEntries(M, V, { 'a.go': 'x' }, { directories: true });
    expect(entries.map((e) => e.name)).toEqual([P + 'a.go']);
  });
});
