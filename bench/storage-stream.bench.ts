/**
 * Shows that a 200 MiB blob is written, read and served over HTTP with flat memory on every
 * backend, and measures the range reader's read-ahead window on a zip checker's access pattern.
 *
 *   bun bench/storage-stream.bench.ts [MiB]
 *
 * No forced garbage collection during a phase: the RSS figures are what a server would see.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { windowedReader } from '../src/goproxy/random-access';
import { blobReader } from '../src/repos/blob-reader';
import type { BlobStore } from '../src/storage/blob-store';
import { FsBlobStore } from '../src/storage/fs-blob-store';
import { S3BlobStore } from '../src/storage/s3-blob-store';
import { startS3rver } from '../test/support/s3rver';

const MiB = 1024 * 1024;
const size = Number(process.argv[2] ?? 200) * MiB;
/** Request bodies and upstream responses arrive in pieces about this big. */
const CHUNK = 64 * 1024;

function body(): { stream: ReadableStream<Uint8Array>; hash: () => string } {
  const block = crypto.getRandomValues(new Uint8Array(CHUNK));
  const hasher = new Bun.CryptoHasher('sha256');
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (sent >= size) return controller.close();
        const piece = block.slice(0, Math.min(CHUNK, size - sent));
        new DataView(piece.buffer).setFloat64(0, sent);
        sent += piece.byteLength;
        hasher.update(piece);
        controller.enqueue(piece);
      },
    },
    { highWaterMark: 0 },
  );
  let digest: string | undefined;
  return { stream, hash: () => (digest ??= hasher.digest('hex')) };
}

async function drainHash(stream: ReadableStream<Uint8Array>): Promise<string> {
  const hasher = new Bun.CryptoHasher('sha256');
  const reader = stream.getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) hasher.update(r.value);
  return hasher.digest('hex');
}

async function measure<T>(label: string, fn: () => Promise<T>): Promise<T> {
  Bun.gc(true);
  const base = process.memoryUsage.rss();
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5);
  const started = performance.now();
  try {
    return await fn();
  } finally {
    clearInterval(timer);
    const ms = performance.now() - started;
    peak = Math.max(peak, process.memoryUsage.rss());
    console.log(
      `  ${label.padEnd(22)} ${(ms / 1000).toFixed(2).padStart(6)} s  ${((size / MiB / ms) * 1000).toFixed(0).padStart(5)} MiB/s` +
        `  RSS ${(base / MiB).toFixed(0).padStart(4)} -> peak ${(peak / MiB).toFixed(0).padStart(4)} MiB (+${((peak - base) / MiB).toFixed(0)})`,
    );
  }
}

async function streamThrough(name: string, store: BlobStore): Promise<void> {
  console.log(`${name}: ${size / MiB} MiB blob`);
  const b = body();
  await measure('put (streamed)', () => store.put('bench/blob', b.stream));
  const read = await measure('get (stream + sha256)', async () => drainHash(await store.get('bench/blob')));
  if (read !== b.hash()) throw new Error(`${name}: read back a different blob`);

  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch: async () => new Response(await store.get('bench/blob'), { headers: { 'Content-Length': String(size) } }),
  });
  try {
    const served = await measure('served over HTTP', async () => drainHash((await fetch(server.url)).body!));
    if (served !== b.hash()) throw new Error(`${name}: served a different blob`);
  } finally {
    server.stop(true);
  }
}

/**
 * The zip checker's pattern: the end of central directory and the central directory at the end,
 * then every entry front to back as a small local header followed by its data in 256 KiB reads.
 */
async function zipPattern(name: string, store: BlobStore): Promise<void> {
  const zipSize = 64 * MiB;
  const sizes: number[] = [];
  for (let total = 0, seed = 7; total < zipSize - 3 * MiB; ) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    // Mostly small source files, now and then a large one, as in module zips.
    const entry = seed % 10 === 0 ? (seed % (2 * MiB)) + 1 : (seed % (24 * 1024)) + 200;
    sizes.push(entry);
    total += 80 + entry;
  }
  await store.put('bench/zip', new Uint8Array(zipSize));
  console.log(`${name}: zip-like read pattern over ${zipSize / MiB} MiB, ${sizes.length} entries`);
  for (const windowBytes of [0, 256 * 1024, 1 * MiB, 4 * MiB]) {
    let gets = 0;
    const counting: BlobStore = Object.assign(Object.create(store), {
      get: (key: string, range?: { start: number; end?: number }) => (gets++, store.get(key, range)),
    });
    const bare = blobReader(counting, 'bench/zip', zipSize);
    const reader = windowBytes ? windowedReader(bare, windowBytes) : bare;
    const started = performance.now();
    await reader.read(zipSize - 22, 22);
    await reader.read(zipSize - 1 * MiB, 1 * MiB - 22);
    let offset = 0;
    for (const entry of sizes) {
      await reader.read(offset, 30);
      await reader.read(offset + 30, 50);
      offset += 80;
      for (let done = 0; done < entry; done += 256 * 1024) await reader.read(offset + done, Math.min(256 * 1024, entry - done));
      offset += entry;
    }
    const ms = performance.now() - started;
    console.log(
      `  window ${String(windowBytes / 1024).padStart(5)} KiB: ${String(gets).padStart(6)} gets ${(ms / 1000).toFixed(2).padStart(6)} s`,
    );
  }
}

const root = await mkdtemp(join(tmpdir(), 'orbitrepos-bench-'));
const s3 = await startS3rver();
const s3store = new S3BlobStore(s3.config);
try {
  await streamThrough('filesystem', new FsBlobStore(root));
  await streamThrough('s3 (s3rver)', s3store);
  await zipPattern('filesystem', new FsBlobStore(root));
  await zipPattern('s3 (s3rver)', s3store);
  console.log(`process max RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
} finally {
  s3store.destroy();
  await s3.stop();
  await rm(root, { recursive: true, force: true });
}
