import type { RandomAccessReader } from '../goproxy/random-access';
import type { BlobStore } from '../storage/blob-store';

/**
 * A blob as the zip checker's RandomAccessReader: each read is one ranged get of exactly the bytes
 * asked. Read-ahead is not done here: the checker's own window (goproxy/random-access.ts
 * windowedReader, sized by checkModuleZip's windowBytes) is the one window between it and storage.
 */
export function blobReader(store: BlobStore, key: string, size: number): RandomAccessReader {
  return {
    size,
    async read(offset, length) {
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
        throw new RangeError(`read(${offset}, ${length}) is outside the blob ${key} of ${size} bytes`);
      }
      if (length === 0) return new Uint8Array(0);
      if (!store.readRange) return fetchRange(store, key, offset, length);
      const got = await store.readRange(key, offset, length);
      if (got.byteLength < length)
        throw new Error(`blob ${key} ended after ${offset + got.byteLength} bytes, expected at least ${offset + length}`);
      return got;
    },
  };
}

/** Over S3 every read is a round trip: the window that bench/storage-stream.bench.ts found enough. */
export const BLOB_WINDOW_BYTES = 1024 * 1024;

async function fetchRange(store: BlobStore, key: string, offset: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  const reader = (await store.get(key, { start: offset, end: offset + length - 1 })).getReader();
  let filled = 0;
  try {
    while (filled < length) {
      const { done, value } = await reader.read();
      if (done) break;
      const take = Math.min(value.byteLength, length - filled);
      out.set(take === value.byteLength ? value : value.subarray(0, take), filled);
      filled += take;
    }
  } finally {
    // Frees the connection (S3) or file (fs) even when the stream had more than asked for.
    await reader.cancel().catch(() => {});
  }
  if (filled < length) {
    throw new Error(`blob ${key} ended after ${offset + filled} bytes, expected at least ${offset + length}`);
  }
  return out;
}
