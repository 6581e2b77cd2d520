import type { BlobStore } from '../storage/blob-store';
import type { Metrics, StorageOperation } from './metrics';

/**
 * A BlobStore that times each operation into the metrics; wraps the store, as caching and coalescing wrap theirs.
 * A get is timed to the moment its stream is handed out (first byte ready), not to the end of a long download.
 */
export function timedBlobStore(store: BlobStore, metrics: Metrics): BlobStore {
  const timed = async <T>(op: StorageOperation, run: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      const result = await run();
      metrics.storage(op, (performance.now() - t0) / 1000, true);
      return result;
    } catch (err) {
      metrics.storage(op, (performance.now() - t0) / 1000, false);
      throw err;
    }
  };
  const wrapped: BlobStore = {
    get: (key, range) => timed('get', () => store.get(key, range)),
    head: (key) => timed('head', () => store.head(key)),
    put: (key, body, options) => timed('put', () => store.put(key, body, options)),
    move: (from, to) => timed('move', () => store.move(from, to)),
    delete: (key) => timed('delete', () => store.delete(key)),
    list: (prefix) => store.list(prefix),
    listEntries: (prefix) => store.listEntries(prefix),
    check: () => timed('check', () => store.check()),
  };
  // The optional methods are passed on, or what they save (a sendfile instead of a stream, a read without one)
  // silently disappears behind this wrapper. Each counts as a get, as the get it stands for would.
  if (store.getBlob) {
    const getBlob = store.getBlob.bind(store);
    wrapped.getBlob = (key) => {
      const t0 = performance.now();
      try {
        const blob = getBlob(key);
        metrics.storage('get', (performance.now() - t0) / 1000, true);
        return blob;
      } catch (err) {
        metrics.storage('get', (performance.now() - t0) / 1000, false);
        throw err;
      }
    };
  }
  if (store.readRange) {
    const readRange = store.readRange.bind(store);
    wrapped.readRange = (key, start, length) => timed('get', () => readRange(key, start, length));
  }
  if (store.sweepPartial) wrapped.sweepPartial = (maxAgeMs, now) => store.sweepPartial!(maxAgeMs, now);
  return wrapped;
}
