import type { RandomAccessReader } from '../goproxy/random-access';

/**
 * Staging and checking a zip allocate a fresh buffer for every chunk that passes (request or upstream
 * body, storage reads, the range reader's windows): about three times the zip's size, all garbage at
 * once. Left to itself Bun's collector lets RSS climb by hundreds of MiB per 100 MiB zip before it
 * runs; a collection every this many bytes keeps the growth to a few tens of MiB
 * (bench/upload.bench.ts, bench/proxy-fanin.bench.ts).
 */
export const COLLECT_EVERY_BYTES = 16 * 1024 * 1024;

/** Counts bytes that passed through a buffer-per-chunk pipeline and runs a full collection every `every` bytes. */
export function gcPacer(every = COLLECT_EVERY_BYTES): (bytes: number) => void {
  let since = 0;
  return (bytes) => {
    since += bytes;
    if (since < every) return;
    since = 0;
    Bun.gc(true);
  };
}

/** The same reader, pacing collections by the bytes it hands out. */
export function pacedReader(inner: RandomAccessReader): RandomAccessReader {
  const collect = gcPacer();
  return { size: inner.size, read: (offset, length) => (collect(length), inner.read(offset, length)) };
}

/**
 * Passes a body through one chunk at a time (no read-ahead), pacing collections by its bytes and
 * remembering whether reading it failed (client went away, upstream broke off) and after how many bytes.
 */
export function pacedBody(body: ReadableStream<Uint8Array>): {
  stream: ReadableStream<Uint8Array>;
  readonly failed: boolean;
  readonly bytes: number;
} {
  const reader = body.getReader();
  const state = { failed: false, bytes: 0 };
  const collect = gcPacer();
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch (err) {
          state.failed = true;
          controller.error(err);
          return;
        }
        if (chunk.done) controller.close();
        else {
          state.bytes += chunk.value.byteLength;
          collect(chunk.value.byteLength);
          controller.enqueue(chunk.value);
        }
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
  return {
    stream,
    get failed() {
      return state.failed;
    },
    get bytes() {
      return state.bytes;
    },
  };
}
