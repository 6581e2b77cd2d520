import { fullGcEvery } from '../full-gc';
import type { RandomAccessReader } from '../goproxy/random-access';

/**
 * Staging and checking a zip allocate a fresh buffer for every chunk that passes (request or upstream
 * body, storage reads, the range reader's windows): about three times the zip's size, all garbage at
 * once. Left to itself Bun's collector lets RSS climb by hundreds of MiB per 100 MiB zip before it
 * runs; a full collection every 16 MiB keeps the growth to a few tens of MiB (bench/upload.bench.ts,
 * bench/proxy-fanin.bench.ts). Its cost, from bench/full-gc.bench.ts (6 concurrent cold 24 MiB fills, 4 clients
 * on a warm .info meanwhile, on and off interleaved, 2 cores, load 2-4.5): fills take 1.13-1.15x as long at p50
 * (1.10-1.39x at p99); warm answers during fills 1.02-1.47x at p50 and 0.82-1.11x at p99, within the noise of two
 * runs; peak RSS growth 181-191 MiB against 229-461 MiB. Memory wins over a tenth of fill time, so it stays on;
 * ORBITREPO_FULL_GC_EVERY_MIB changes the interval, and 0 switches it off.
 */
export const DEFAULT_FULL_GC_EVERY_BYTES = 16 * 1024 * 1024;

/** The same reader, with a full collection every `every` bytes it hands out (0: none). */
export function pacedReader(inner: RandomAccessReader, every: number): RandomAccessReader {
  if (!(every > 0)) return inner;
  const collect = fullGcEvery(every);
  return { size: inner.size, read: (offset, length) => (collect(length), inner.read(offset, length)) };
}

/**
 * Passes a body through one chunk at a time (no read-ahead), with a full collection every `every` bytes
 * (0: none), remembering whether reading it failed (client went away, upstream broke off) and after how many bytes.
 */
export function pacedBody(
  body: ReadableStream<Uint8Array>,
  every: number,
): {
  stream: ReadableStream<Uint8Array>;
  readonly failed: boolean;
  readonly bytes: number;
} {
  const reader = body.getReader();
  const state = { failed: false, bytes: 0 };
  const collect = fullGcEvery(every);
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
