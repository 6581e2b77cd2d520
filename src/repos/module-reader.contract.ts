import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createHash } from 'node:crypto';
import { NotFound } from '../errors';
import type { ModuleReader } from './repository';

/** A module every world publishes the same way: two releases, a newer prerelease, and one version to withdraw. */
export const CONTRACT_MODULE = 'example.com/contract/Lib';
export const CONTRACT_VERSIONS = ['v1.0.0', 'v1.1.0', 'v1.2.0-rc.1', 'v1.3.0'] as const;
/** The version each world makes disappear (hosted: unpublished; proxy: the upstream answers 410; group: gone from its member). */
export const WITHDRAWN = 'v1.3.0';

/** The files of one published version, as the reader must serve them byte for byte. */
export interface PublishedVersion {
  zip: Uint8Array;
  mod: Uint8Array;
}

export interface ReaderWorld {
  reader: ModuleReader;
  /** What was published under CONTRACT_MODULE, by version. */
  published: Map<string, PublishedVersion>;
  /** Makes WITHDRAWN unavailable, as this kind of repository loses a version. */
  withdraw(): Promise<void>;
  cleanup(): Promise<void>;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** A body as hex, so that a mismatch shows where. */
const hexOf = async (s: ReadableStream<Uint8Array>) =>
  Buffer.from(await new Response(s as ReadableStream<Uint8Array<ArrayBuffer>>).arrayBuffer()).toString('hex');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/**
 * The reading behaviour every kind of repository shares (ModuleReader), run the same against each:
 * `runModuleReaderContract('hosted', makeWorld)`. A decorator around a reader (a cache) passes it too.
 * What the HTTP layer adds (status codes, HEAD, Range headers) rests on what is held here: a file's size
 * and ETag known before its body is opened, and a slice opened on request.
 */
export function runModuleReaderContract(name: string, makeWorld: () => Promise<ReaderWorld>): void {
  describe(`ModuleReader contract: ${name}`, () => {
    let w: ReaderWorld;
    beforeAll(async () => {
      w = await makeWorld();
    }, 120_000);
    afterAll(async () => {
      await w?.cleanup();
    });
    const M = CONTRACT_MODULE;

    test('list holds every canonical version in semver order', async () => {
      expect(await w.reader.list(M)).toEqual(['v1.0.0', 'v1.1.0', 'v1.2.0-rc.1', 'v1.3.0']);
    });

    test('@latest is .info JSON of the highest release, not a newer prerelease', async () => {
      const info = JSON.parse(await w.reader.latest(M));
      expect(info.Version).toBe('v1.3.0');
      expect(Number.isNaN(Date.parse(info.Time))).toBe(false);
    });

    test('.info names its version with a valid Time', async () => {
      const info = JSON.parse(await w.reader.info(M, 'v1.2.0-rc.1'));
      expect(info.Version).toBe('v1.2.0-rc.1');
      expect(Number.isNaN(Date.parse(info.Time))).toBe(false);
    });

    test('.mod and .zip are the published bytes, their ETag the content hash, size known before the body is opened', async () => {
      for (const version of ['v1.0.0', 'v1.1.0']) {
        const want = w.published.get(version)!;
        for (const [file, bytes] of [
          [await w.reader.mod(M, version), want.mod],
          [await w.reader.zip(M, version), want.zip],
        ] as const) {
          // What HEAD and If-None-Match need comes without reading the body.
          expect(file.size).toBe(bytes.byteLength);
          expect(file.etag).toBe(`"sha256-${sha256(bytes)}"`);
          expect(await hexOf(await file.open())).toBe(hex(bytes));
        }
      }
    });

    test('a range of a .zip is exactly that slice (Range requests)', async () => {
      const want = w.published.get('v1.1.0')!.zip;
      const file = await w.reader.zip(M, 'v1.1.0');
      expect(await hexOf(await file.open({ start: 10, end: 109 }))).toBe(hex(want.subarray(10, 110)));
      expect(await hexOf(await file.open({ start: want.byteLength - 5, end: want.byteLength - 1 }))).toBe(hex(want.subarray(-5)));
    });

    test('an unknown module and an unknown version are NotFound, for every file', async () => {
      expect(await rejection(w.reader.list('example.com/contract/none'))).toBeInstanceOf(NotFound);
      expect(await rejection(w.reader.latest('example.com/contract/none'))).toBeInstanceOf(NotFound);
      for (const read of [() => w.reader.info(M, 'v9.9.9'), () => w.reader.mod(M, 'v9.9.9'), () => w.reader.zip(M, 'v9.9.9')]) {
        expect(await rejection(read())).toBeInstanceOf(NotFound);
      }
    });

    // Upstreams say 404 or 410 for a version they lost; to the go command both mean "not here", and so for every kind.
    test('a withdrawn version is NotFound (an upstream 410 included)', async () => {
      await w.withdraw();
      expect(await rejection(w.reader.zip(M, WITHDRAWN))).toBeInstanceOf(NotFound);
    });
  });
}
