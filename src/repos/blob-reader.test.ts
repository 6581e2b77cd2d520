import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { windowedReader } from '../goproxy/random-access';
import type { BlobStore } from '../storage/blob-store';
import { FsBlobStore } from '../storage/fs-blob-store';
import { blobReader } from './blob-reader';

describe('blobReader', () => {
  const source = Uint8Array.from({ length: 5000 }, (_, i) => (i * 31) % 251);
  let root: string;
  let store: BlobStore;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'orbitrepos-blob-reader-'));
    store = new FsBlobStore(root);
    await store.put('zip', source);
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  test('reads return exactly the bytes asked for, bare and through a window, inside and across its edges', async () => {
    for (const reader of [blobReader(store, 'zip', source.byteLength), windowedReader(blobReader(store, 'zip', source.byteLength), 1000)]) {
      for (const [offset, length] of [
        [4990, 10],
        [0, 30],
        [30, 900],
        [990, 20],
        [1500, 2500],
        [4999, 1],
        [10, 0],
      ]) {
        expect(await reader.read(offset, length)).toEqual(source.subarray(offset, offset + length));
      }
    }
  });

  // The zip checker's small sequential reads must not each become a request.
  test('reads inside the window are served without asking the store again', async () => {
    let gets = 0;
    const counting: BlobStore = Object.assign(Object.create(store), {
      get: (key: string, range?: { start: number; end?: number }) => (gets++, store.get(key, range)),
      readRange: (key: string, start: number, length: number) => (gets++, store.readRange!(key, start, length)),
    });
    const reader = windowedReader(blobReader(counting, 'zip', source.byteLength), 4096);
    for (let offset = 0; offset < 4000; offset += 100) await reader.read(offset, 100);
    expect(gets).toBe(1);
  });

  test('a store without readRange is read by ranged gets, with the same bytes', async () => {
    const streamOnly: BlobStore = Object.assign(Object.create(store), { readRange: undefined });
    expect(await blobReader(streamOnly, 'zip', source.byteLength).read(1500, 2500)).toEqual(source.subarray(1500, 4000));
    await expect(blobReader(streamOnly, 'zip', source.byteLength + 10).read(4990, 20)).rejects.toThrow('ended after 5000 bytes');
  });

  test('a read beyond the blob is refused', async () => {
    await expect(blobReader(store, 'zip', source.byteLength).read(4990, 11)).rejects.toBeInstanceOf(RangeError);
  });

  test('a blob shorter than its recorded size is an error, not a short read', async () => {
    await expect(blobReader(store, 'zip', source.byteLength + 10).read(4990, 20)).rejects.toThrow('ended after 5000 bytes');
  });
});
