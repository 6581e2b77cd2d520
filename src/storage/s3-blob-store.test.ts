import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readdir, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateMultipartUploadCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { type S3rverHandle, startS3rver } from '../../test/support/s3rver';
import { chunked, runBlobStoreContract } from './blob-store.contract';
import { S3BlobStore } from './s3-blob-store';

let s3: S3rverHandle;
beforeAll(async () => {
  s3 = await startS3rver();
});
afterAll(async () => {
  await s3?.stop();
});

// Each test gets its own key prefix: isolation without a new bucket, and the prefix path is exercised throughout.
const MiB = 1024 * 1024;
runBlobStoreContract(
  's3',
  async () => {
    const store = new S3BlobStore({ ...s3.config, prefix: `t-${crypto.randomUUID()}` });
    return { store, cleanup: async () => store.destroy() };
  },
  // A streamed put holds five 8 MiB part buffers plus the HTTP client's copies of four in flight
  // (~75 MiB) whatever the size, so the blob must be much larger than that to show memory is flat.
  { largeBytes: 192 * MiB, memoryBudget: 120 * MiB },
);

describe('S3BlobStore', () => {
  const objectFile = (prefix: string, key: string) => join(s3.directory, s3.bucket, prefix, `${key}._S3rver_object`);

  // With the SDK's default checksums a streamed body is sent aws-chunked and s3rver would store the framing.
  test.each([
    ['a small stream', [new TextEncoder().encode('plain '), new TextEncoder().encode('bytes')]],
    ['a multipart stream', Array.from({ length: 10 }, (_, i) => new Uint8Array(1024 * 1024).fill(i))],
  ])('the object stored from %s holds exactly the bytes sent', async (_, chunks) => {
    const prefix = `raw-${crypto.randomUUID()}`;
    const store = new S3BlobStore({ ...s3.config, prefix });
    try {
      await store.put('k', chunked(chunks));
      const stored = await Bun.file(objectFile(prefix, 'k')).bytes();
      expect(Buffer.compare(stored, Buffer.concat(chunks))).toBe(0);
    } finally {
      store.destroy();
    }
  });

  test('a multipart upload whose body fails is aborted, leaving no parts', async () => {
    const s3b = await s3.newBucket();
    const store = new S3BlobStore(s3b);
    try {
      const chunks = Array.from({ length: 12 }, () => new Uint8Array(1024 * 1024));
      await expect(store.put('k', chunked(chunks, new Error('cut off')))).rejects.toThrow('cut off');
      const uploads = await readdir(join(s3.directory, s3b.bucket, '._S3rver_uploads')).catch(() => []);
      expect(uploads).toEqual([]);
    } finally {
      store.destroy();
    }
  });

  test('listing pages through a small page size without losing keys', async () => {
    const store = new S3BlobStore({ ...s3.config, prefix: `page-${crypto.randomUUID()}` }, { listPageSize: 7 });
    try {
      const keys = Array.from({ length: 30 }, (_, i) => `p/${String(i).padStart(2, '0')}`);
      await Promise.all(keys.map((k) => store.put(k, k)));
      expect((await Array.fromAsync(store.list('p/'))).sort()).toEqual(keys);
    } finally {
      store.destroy();
    }
  });

  test('check fails with a reason when the bucket does not exist', async () => {
    const store = new S3BlobStore({ ...s3.config, bucket: 'no-such-bucket' });
    try {
      await expect(store.check()).rejects.toThrow('no-such-bucket');
      await expect(store.get('k')).rejects.not.toThrow('not found');
    } finally {
      store.destroy();
    }
  });

  // A process killed mid multipart upload leaves parts that no listing shows but the bucket keeps.
  test("sweepPartial aborts staged multipart uploads older than the limit and keeps younger ones and other keys' uploads", async () => {
    const prefix = `mpu-${crypto.randomUUID()}`;
    const store = new S3BlobStore({ ...s3.config, prefix });
    const begin = async (key: string) => {
      const { UploadId } = await store.client.send(new CreateMultipartUploadCommand({ Bucket: s3.bucket, Key: `${prefix}/${key}` }));
      await store.client.send(
        new UploadPartCommand({ Bucket: s3.bucket, Key: `${prefix}/${key}`, UploadId, PartNumber: 1, Body: new Uint8Array(1024) }),
      );
      return UploadId!;
    };
    const uploadsDir = join(s3.directory, s3.bucket, '._S3rver_uploads');
    try {
      const old = await begin('tmp/1-old');
      const hourAgo = new Date(Date.now() - 60 * 60 * 1000);
      await utimes(join(uploadsDir, old), hourAgo, hourAgo);
      const young = await begin('tmp/2-young');
      const notStaged = await begin('blobs/sha256/ab/cd');
      await utimes(join(uploadsDir, notStaged), hourAgo, hourAgo);
      expect(await store.sweepPartial(30 * 60 * 1000)).toBe(1);
      const left = await readdir(uploadsDir);
      expect(left).not.toContain(old);
      expect(left).toContain(young);
      expect(left).toContain(notStaged);
    } finally {
      store.destroy();
    }
  });
});
