/**
 * Streaming raw-DEFLATE for zip entries, with output bounded per step: input is
 * fed in small slices, so one step can expand to at most ~1032x a slice (the
 * deflate maximum) before the caller's sink sees it and can stop a bomb.
 *
 * Two engines: the runtime's native DecompressionStream (default; measured
 * ~15x faster than fflate under Bun) and fflate's pure-JS Inflate.
 */
import { Inflate } from 'fflate';

export type InflateEngine = 'native' | 'fflate';

/** Compressed bytes per step; 16 KiB can expand to at most ~16.5 MiB. */
const FEED = 16 * 1024;

function* slices(chunk: Uint8Array): Generator<Uint8Array> {
  for (let i = 0; i < chunk.length; i += FEED) yield chunk.subarray(i, i + FEED);
}

async function inflateFflate(input: AsyncIterable<Uint8Array>, sink: (c: Uint8Array) => void): Promise<void> {
  const inflater = new Inflate((c) => sink(c));
  for await (const chunk of input) for (const s of slices(chunk)) inflater.push(s, false);
  inflater.push(new Uint8Array(0), true);
}

async function inflateNative(input: AsyncIterable<Uint8Array>, sink: (c: Uint8Array) => void): Promise<void> {
  const ds = new DecompressionStream('deflate-raw');
  const writer = ds.writable.getWriter();
  const reader = ds.readable.getReader();
  // Writes wait on backpressure from the readable side, so at most a few slices' output is ever queued.
  // A failed read must error the readable side too, or the loop below would wait forever.
  const pump = (async () => {
    try {
      for await (const chunk of input) {
        for (const s of slices(chunk)) {
          await writer.ready;
          await writer.write(s as Uint8Array<ArrayBuffer>);
        }
      }
      await writer.close();
    } catch (err) {
      await writer.abort(err).catch(() => {});
      throw err;
    }
  })();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      sink(value);
    }
    await pump;
  } catch (err) {
    pump.catch(() => {});
    reader.cancel(err).catch(() => {});
    throw err;
  }
}

/**
 * Inflates `input` into `sink`. Throws on corrupt or truncated data; a throw
 * from `sink` stops the inflation and propagates unchanged. The native engine
 * also refuses bytes after the end of the deflate stream, which the go command
 * would ignore; no zip writer produces them.
 */
export function inflateRaw(engine: InflateEngine, input: AsyncIterable<Uint8Array>, sink: (c: Uint8Array) => void): Promise<void> {
  return engine === 'fflate' || typeof DecompressionStream === 'undefined' ? inflateFflate(input, sink) : inflateNative(input, sink);
}
