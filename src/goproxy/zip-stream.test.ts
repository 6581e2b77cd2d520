import { describe, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { invalidZipCorpus } from '../../test/fixtures/invalid-module-zips';
import { checkAsyncProperty } from '../../test/support/property';
import { buildModuleZip, buildZip, type ModuleZipOptions } from '../../test/support/zipbuild';
import { pathProblem } from './module-path';
import { checkModuleZip, checkStreamedZip, DEFAULT_ZIP_LIMITS, readerFromBytes } from './zip-check';
import { ZipStreamDigest } from './zip-stream';

const M = 'example.com/a';
const V = 'v1.0.0';

/** Pushes `zip` through a digest in pieces of the given sizes (cycled), as a fill's body would arrive. */
async function digestOf(zip: Uint8Array, module: string, version: string, pieces: number[]): Promise<ZipStreamDigest> {
  const d = new ZipStreamDigest(`${module}@${version}/go.mod`, DEFAULT_ZIP_LIMITS);
  for (let at = 0, i = 0; at < zip.length; i++) {
    const n = Math.max(1, pieces[i % pieces.length]);
    await d.push(zip.slice(at, at + n));
    at += n;
  }
  d.close();
  return d;
}

/** A verdict both checkers can be compared on: the answer, or the refusal's class, rule and message. */
async function verdict(p: Promise<unknown>): Promise<unknown> {
  try {
    const got = (await p) as Record<string, unknown>;
    const { streamed: _, ...rest } = got;
    return { accepted: rest };
  } catch (e) {
    const err = e as Error & { rule?: string };
    return { refused: [err.constructor.name, err.rule, err.message] };
  }
}

async function bothVerdicts(zip: Uint8Array, module: string, version: string, pieces: number[]) {
  const digest = await digestOf(zip, module, version, pieces);
  const streamed = await verdict(checkStreamedZip(readerFromBytes(zip), module, version, digest));
  const full = await verdict(checkModuleZip(readerFromBytes(zip), module, version));
  return { streamed, full, digest };
}

/** Names the path rules accept (a random "prn.txt" is a Windows-reserved name, rightly refused). */
const fileName = fc.stringMatching(/^[a-z]{1,4}(\/[a-z]{1,3}){0,2}\.(go|txt)$/).filter((n) => pathProblem(n, 'file') === null);
const content = fc.oneof(
  fc.string({ maxLength: 2000 }),
  fc.uint8Array({ maxLength: 2000 }),
  // Larger than one piece and than the one-call inflate limit: the streaming inflater's path.
  fc.integer({ min: 1, max: 3 }).map((n) => new TextEncoder().encode(`${'line of text\n'.repeat(n * 40_000)}${n}`)),
);
const pieceSizes = fc.array(fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 200_000 })), {
  minLength: 1,
  maxLength: 6,
});
const layout = fc.record({
  method: fc.constantFrom(0 as const, 8 as const, undefined),
  dataDescriptor: fc.boolean(),
  zip64: fc.boolean(),
  directories: fc.boolean(),
  comment: fc.constantFrom(undefined, 'a comment'),
});

/** Files whose names cannot collide: each name is made unique by its index. */
const moduleFiles = fc
  .array(fc.tuple(fileName, content), { maxLength: 6 })
  .map(
    (fs): Record<string, string | Uint8Array> =>
      Object.fromEntries([['go.mod', `module ${M}\n\ngo 1.21\n`], ...fs.map(([n, d], i) => [`f${i}/${n}`, d])]),
  );

describe('a zip digested as it streams', () => {
  test('gets the same answer as reading it again, and reads only the directory unless it must', async () => {
    await checkAsyncProperty(
      fc.asyncProperty(moduleFiles, layout, pieceSizes, async (fs, opts, pieces) => {
        const zip = buildModuleZip(M, V, fs, opts as ModuleZipOptions);
        // Pieces of a few bytes through a megabyte-sized zip would take minutes: scale them up there.
        const scaled = zip.length > 100_000 ? pieces.map((n) => n * 100) : pieces;
        const { streamed, full, digest } = await bothVerdicts(zip, M, V, scaled);
        expect(streamed).toEqual(full);
        expect(full).toHaveProperty('accepted');
        // Only a stored file with a data descriptor cannot be delimited as it streams.
        const storedWithDescriptor = opts.dataDescriptor && Object.values(fs).some((d) => opts.method === 0 || d.length === 0);
        if (!storedWithDescriptor) expect(digest.gaveUp).toBeUndefined();
      }),
      { numRuns: 80 },
    );
  }, 60_000);

  test('with bytes changed anywhere, gives the verdict the full check gives', async () => {
    const base = (opts: ModuleZipOptions) =>
      buildModuleZip(M, V, { 'go.mod': `module ${M}\n`, 'a.go': 'package a\n'.repeat(50), 'b/c.txt': randomBytes(300) }, opts);
    await checkAsyncProperty(
      fc.asyncProperty(
        layout,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }),
        pieceSizes,
        async (opts, flips, pieces) => {
          const zip = base(opts as ModuleZipOptions);
          for (const [at, b] of flips) zip[at % zip.length] = b;
          const { streamed, full } = await bothVerdicts(zip, M, V, pieces);
          expect(streamed).toEqual(full);
        },
      ),
      { numRuns: 300 },
    );
  });

  test.each(invalidZipCorpus().map((c) => [c.id, c] as const))('refuses the corpus zip %s as the full check does', async (_id, c) => {
    for (const pieces of [[1 << 20], [7, 300], [1]]) {
      if (pieces[0] === 1 && c.zip.length > 20_000) continue;
      const { streamed, full } = await bothVerdicts(c.zip, c.module, c.version, pieces);
      expect(streamed).toEqual(full);
      expect(full).toHaveProperty('refused');
    }
  });

  test('of a stored entry with a data descriptor gives up, and the full check answers', async () => {
    const zip = buildModuleZip(M, V, { 'go.mod': `module ${M}\n`, 'a.go': 'package a\n' }, { method: 0, dataDescriptor: true });
    const digest = await digestOf(zip, M, V, [1 << 20]);
    expect(digest.gaveUp).toBe('a stored entry with a data descriptor');
    const got = await checkStreamedZip(readerFromBytes(zip), M, V, digest);
    expect(got.streamed).toBe(false);
    expect(got.h1).toBe((await checkModuleZip(readerFromBytes(zip), M, V)).h1);
  });

  test('whose bytes differ from the stored ones is checked again', async () => {
    const zip = buildModuleZip(M, V, { 'go.mod': `module ${M}\n`, 'a.go': 'package a\n' });
    const digest = await digestOf(zip, M, V, [100]);
    const other = buildModuleZip(M, V, { 'go.mod': `module ${M}\n`, 'a.go': 'package b\n' });
    const got = await checkStreamedZip(readerFromBytes(other), M, V, digest);
    expect(got.streamed).toBe(false);
    expect(got.h1).toBe((await checkModuleZip(readerFromBytes(other), M, V)).h1);
  });

  // A body that ends mid-entry (an upstream that broke off) leaves the inflater open: close lets it go.
  test('that ended mid-entry is closed without a hang, and the stored zip is checked again', async () => {
    const zip = buildModuleZip(M, V, { 'go.mod': `module ${M}\n`, 'big.txt': 'some text\n'.repeat(300_000) }, { dataDescriptor: true });
    const digest = await digestOf(zip.subarray(0, zip.length >> 1), M, V, [65_536]);
    expect(digest.entries).toHaveLength(1);
    const got = await checkStreamedZip(readerFromBytes(zip), M, V, digest);
    expect(got.streamed).toBe(false);
    expect(got.h1).toBe((await checkModuleZip(readerFromBytes(zip), M, V)).h1);
  });

  test('a prefix before the first entry makes it give up; the full check still accepts the zip', async () => {
    const zip = buildModuleZip(M, V, { 'go.mod': `module ${M}\n` });
    const prefixed = new Uint8Array(zip.length + 10);
    prefixed.set(zip, 10);
    const { streamed, full, digest } = await bothVerdicts(prefixed, M, V, [64]);
    expect(streamed).toEqual(full);
    expect(digest.entries).toHaveLength(0);
  });

  // A deflate bomb declaring nothing (a data descriptor) is cut off at the module size limit, not inflated to the end.
  test('gives up on more content than a module may hold, without holding it', async () => {
    const limits = { ...DEFAULT_ZIP_LIMITS, maxZipFile: 1 << 20 };
    const zip = buildZip([{ name: `${M}@${V}/big.txt`, data: new Uint8Array(4 << 20), dataDescriptor: true }]);
    const d = new ZipStreamDigest(`${M}@${V}/go.mod`, limits);
    await d.push(zip);
    expect(d.gaveUp).toBe('more content than a module may hold');
    expect(d.entries).toHaveLength(0);
  });

  test('an empty zip is answered from its directory', async () => {
    const zip = buildZip([]);
    const got = await checkStreamedZip(readerFromBytes(zip), M, V, await digestOf(zip, M, V, [5]));
    expect(got).toEqual({ ...(await checkModuleZip(readerFromBytes(zip), M, V)), streamed: true });
  });
});
