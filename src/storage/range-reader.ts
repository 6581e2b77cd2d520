import type { BlobStore } from './blob-store';

export interface RangeReader {
  readonly size: number;
  /** Exactly `length` bytes from `offset`; the array is the caller's to keep. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

export interface RangeReaderOptions {
  /**
   * Bytes fetched per request when a read is smaller: later reads inside the window are served
   * from memory. 0 disables read-ahead. The default comes from bench/storage-stream.bench.ts.
   */
  windowBytes?: number;
}

export const DEFAULT_WINDOW_BYTES = 1024 * 1024;

/**
 * Random access over a blob for readers such as the zip checker, which read the central
 * directory and then walk the entries front to back. One window of read-ahead turns the many
 * small header reads into few requests, which matters on S3 where every request costs a round trip.
 */
export function rangeReader(store: BlobStore, key: string, size: number, options: RangeReaderOptions = {}): RangeReader {
  const windowBytes = options.windowBytes ?? DEFAULT_WINDOW_BYTES;
  let window: { start: number; bytes: Uint8Array } | undefined;

  return {
    size,
    async read(offset, length) {
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
        throw new RangeError(`read(${offset}, ${length}) is outside the blob ${key} of ${size} bytes`);
      }
      if (length === 0) return new Uint8Array(0);
      if (window && offset >= window.start && offset + length <= window.start + window.bytes.byteLength) {
        const from = offset - window.start;
        return window.bytes.slice(from, from + length);
      }
      if (length >= windowBytes) return fetchRange(store, key, offset, length);
      const fetched = Math.min(windowBytes, size - offset);
      const bytes = await fetchRange(store, key, offset, fetched);
      window = { start: offset, bytes };
      return bytes.slice(0, length);
    },
  };
}

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
