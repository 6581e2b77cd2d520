import { expect, test } from 'bun:test';
import { createHash } from 'node:crypto';
import { isGone, NotFound } from '../errors';
import type { ModuleReader } from './repository';

/** A module every world publishes the same way: three releases and a prerelease. */
export const CONTRACT_MODULE = 'example.com/contract/Lib';
export const CONTRACT_VERSIONS = ['v1.0.0', 'v1.1.0', 'v1.2.0-rc.1', 'v1.3.0'] as const;
/**
 * The version each world has lost, as its kind loses one: hosted published it and deleted it under
 * allow_once (its tombstone remains); a proxy's upstream answers 410 for it; a group's proxy member says
 * 410 for it while its hosted member never had it.
 */
export const GONE = 'v0.9.0';
/** A version no world ever had. */
export const MISSING = 'v1.9.9';

/** The files of one published version, as the reader must serve them byte for byte. */
export interface PublishedVersion {
  zip: Uint8Array;
  mod: Uint8Array;
}

export interface ReaderWorld {
  reader: ModuleReader;
  /** What was published under CONTRACT_MODULE and is still there, by version. */
  published: Map<string, PublishedVersion>;
  cleanup(): Promise<void>;
}

export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
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
 * The reading behaviour every kind of repository shares (ModuleReader), registered in the caller's describe
 * for the world it is given (src/http/go-routes.contract.ts runs them with the same answers over HTTP).
 * A decorator around a reader (a cache) passes them too. What the HTTP layer adds (status codes, HEAD,
 * Range headers) rests on what is held here: a file's size and ETag known before its body is opened, a
 * slice opened on request, and NotFound told apart from a gone version.
 */
export function moduleReaderTests(world: () => ReaderWorld): void {
  const M = CONTRACT_MODULE;

  test('list holds every canonical version in semver order, and not the gone one', async () => {
    expect(await world().reader.list(M)).toEqual(['v1.0.0', 'v1.1.0', 'v1.2.0-rc.1', 'v1.3.0']);
  });

  test('@latest is .info JSON of the highest release', async () => {
    const info = JSON.parse(await world().reader.latest(M));
    expect(info.Version).toBe('v1.3.0');
    expect(Number.isNaN(Date.parse(info.Time))).toBe(false);
  });

  test('.info names its version with a valid Time', async () => {
    const info = JSON.parse(await world().reader.info(M, 'v1.2.0-rc.1'));
    expect(info.Version).toBe('v1.2.0-rc.1');
    expect(Number.isNaN(Date.parse(info.Time))).toBe(false);
  });

  test('.mod and .zip are the published bytes, their ETag the content hash, size known before the body is opened', async () => {
    const { reader, published } = world();
    for (const version of ['v1.0.0', 'v1.1.0']) {
      const want = published.get(version)!;
      for (const [file, bytes] of [
        [await reader.mod(M, version), want.mod],
        [await reader.zip(M, version), want.zip],
      ] as const) {
        // What HEAD and If-None-Match need comes without reading the body.
        expect(file.size).toBe(bytes.byteLength);
        expect(file.etag).toBe(`"sha256-${sha256(bytes)}"`);
        expect(await hexOf(await file.open())).toBe(hex(bytes));
      }
    }
  });

  test('a range of a .zip is exactly that slice (Range requests)', async () => {
    const want = world().published.get('v1.1.0')!.zip;
    const file = await world().reader.zip(M, 'v1.1.0');
    expect(await hexOf(await file.open({ start: 10, end: 109 }))).toBe(hex(want.subarray(10, 110)));
    expect(await hexOf(await file.open({ start: want.byteLength - 5, end: want.byteLength - 1 }))).toBe(hex(want.subarray(-5)));
  });

  test('an unknown module and a version never had are NotFound, not gone, for every file', async () => {
    const { reader } = world();
    const reads = [
      () => reader.list('example.com/contract/none'),
      () => reader.latest('example.com/contract/none'),
      () => reader.info(M, MISSING),
      () => reader.mod(M, MISSING),
      () => reader.zip(M, MISSING),
    ];
    for (const read of reads) {
      const err = await rejection(read());
      expect(err).toBeInstanceOf(NotFound);
      expect(isGone(err)).toBe(false);
    }
  });

  // To the go command both mean "not here, try the next proxy"; to a person 410 says the version was there once.
  test('the gone version is a NotFound that says gone (410), for every file, asked again too', async () => {
    const { reader } = world();
    for (let i = 0; i < 2; i++) {
      for (const read of [() => reader.info(M, GONE), () => reader.mod(M, GONE), () => reader.zip(M, GONE)]) {
        const err = await rejection(read());
        expect(err).toBeInstanceOf(NotFound);
        expect(isGone(err)).toBe(true);
      }
    }
  });
}
