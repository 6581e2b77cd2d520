import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BlobStore } from '../storage/blob-store';
import { FsBlobStore } from '../storage/fs-blob-store';
import { blobGoFile, blobGoFileAt, sha256OfBlobKey } from './go-file';

describe('served metadata', () => {
  test('a content-addressed key yields its sha256, any other key null', () => {
    const sha = 'ab' + 'c'.repeat(62);
    expect(sha256OfBlobKey(`blobs/sha256/ab/${'c'.repeat(62)}`)).toBe(sha);
    expect(sha256OfBlobKey('tmp/123')).toBeNull();
    expect(sha256OfBlobKey(`blobs/sha256/ab/${'c'.repeat(61)}`)).toBeNull();
  });

  test('a blob GoFile carries the content hash as a strong ETag and opens lazily', () => {
    let opened = 0;
    const store = { get: async () => (opened++, new Blob(['x']).stream()) } as never;
    const file = blobGoFile(store, 'blobs/sha256/ab/cd', 1, 'abcd');
    expect(file).toMatchObject({ size: 1, etag: '"sha256-abcd"' });
    expect(opened).toBe(0);
  });
});

describe('a blob GoFile sent as a file', () => {
  let root: string;
  let store: FsBlobStore;
  const key = `blobs/sha256/ab/${'c'.repeat(62)}`;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'orbitrepos-go-file-'));
    store = new FsBlobStore(root);
    await store.put(key, '0123456789');
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  test('gives the whole blob, or the slice a range asks, from a store that has blobs as files', async () => {
    const file = blobGoFile(store, key, 10, 'abcd');
    expect(await file.blob!()!.text()).toBe('0123456789');
    expect(await file.blob!({ start: 3, end: 5 })!.text()).toBe('345');
  });

  // A GoFile lives in the answer cache: each send looks again.
  test('gives nothing once the blob is gone, or when it is not the size the row says', async () => {
    expect(blobGoFile(store, key, 11, 'abcd').blob!()).toBeUndefined();
    await store.put('blobs/sha256/ab/gone', 'x');
    const gone = blobGoFile(store, 'blobs/sha256/ab/gone', 1, 'abcd');
    expect(gone.blob!()).toBeDefined();
    await store.delete('blobs/sha256/ab/gone');
    expect(gone.blob!()).toBeUndefined();
  });

  test('has no blob at all over a store that only streams (S3)', async () => {
    const streamOnly: BlobStore = Object.assign(Object.create(store), { getBlob: undefined });
    expect(blobGoFile(streamOnly, key, 10, 'abcd').blob).toBeUndefined();
    expect((await blobGoFileAt(streamOnly, key)).blob).toBeUndefined();
    expect((await blobGoFileAt(store, key)).blob).toBeDefined();
  });
});
