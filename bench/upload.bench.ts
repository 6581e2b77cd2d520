/**
 * Publishing a big module zip to a hosted repository: shows that the upload is streamed to
 * storage and checked there, so the server's memory does not grow with the zip's size.
 *
 *   bun bench/upload.bench.ts [MiB=100] [rounds=3] [--postgres] [--deflate]
 *
 * The server under test runs as a separate process (`bun run src/index.ts`), so its RSS is its
 * own: sampled from /proc every 20 ms. Each round publishes a new version from a zip on disk
 * (fetch streams the file), then downloads it once. --postgres uses ORBITREPO_TEST_DATABASE_URL
 * (a throwaway database); --deflate compresses the entries (the checker then inflates them all).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_AUTH } from '../test/support/app';
import { createTestDatabaseUrl } from '../test/support/db';
import { startServerProcess } from '../test/support/server';
import { writeZipFile, type ZipEntrySpec } from '../test/support/zipbuild';
import { rssBytes, statusBytes } from './support/proc';

const MiB = 1024 * 1024;
const args = process.argv.slice(2);
const positional = args.filter((a) => !a.startsWith('--'));
const sizeMiB = Number(positional[0] ?? 100);
const rounds = Number(positional[1] ?? 3);
const usePostgres = args.includes('--postgres');
const deflate = args.includes('--deflate');
const MODULE = 'example.com/bench/upload';

const mb = (n: number) => `${(n / MiB).toFixed(1)} MiB`;

/** Random 1 MiB files (half-random when deflated, so compression has something to do); never the whole zip in memory. */
async function* entries(version: string): AsyncIterable<ZipEntrySpec> {
  yield { name: `${MODULE}@${version}/go.mod`, data: `module ${MODULE}\n\ngo 1.21\n` };
  for (let i = 0; i < sizeMiB; i++) {
    const data = deflate ? Buffer.concat([randomBytes(MiB / 2), Buffer.alloc(MiB / 2, i)]) : randomBytes(MiB);
    yield { name: `${MODULE}@${version}/data/part${i}.bin`, data, method: deflate ? 8 : 0 };
  }
}

/** Runs fn while sampling the server's RSS; returns the time taken and the peak growth over the start. */
async function measured<T>(pid: number, fn: () => Promise<T>): Promise<{ value: T; ms: number; base: number; peak: number }> {
  const base = rssBytes(pid);
  let peak = base;
  const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), 20);
  const started = performance.now();
  try {
    const value = await fn();
    return { value, ms: performance.now() - started, base, peak: Math.max(peak, rssBytes(pid)) };
  } finally {
    clearInterval(sampler);
  }
}

const dir = await mkdtemp(join(tmpdir(), 'orbit-upload-bench-'));
const db = usePostgres ? await createTestDatabaseUrl() : undefined;
const server = await startServerProcess({
  ORBITREPO_DATA_DIR: join(dir, 'data'),
  ...(db ? { ORBITREPO_DATABASE_URL: db.url } : {}),
});
try {
  const created = await fetch(`${server.url}/api/v1/repositories`, {
    method: 'POST',
    headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench', type: 'hosted' }),
  });
  if (created.status !== 201) throw new Error(`creating the repository: ${created.status} ${await created.text()}`);
  console.log(
    `server pid ${server.pid}, ${usePostgres ? 'PostgreSQL' : 'PGlite'}, filesystem storage, ${deflate ? 'deflated' : 'stored'} entries`,
  );
  // Start-up (migrations, PGlite's wasm heap) leaves garbage behind; its high-water mark is the fair comparison for a peak.
  console.log(`idle RSS ${mb(rssBytes(server.pid))}, high-water mark since start ${mb(statusBytes(server.pid, 'VmHWM'))}`);

  for (let round = 1; round <= rounds; round++) {
    const version = `v1.0.${round}`;
    const file = join(dir, `${version}.zip`);
    const size = await writeZipFile(file, entries(version));
    const up = await measured(server.pid, async () => {
      const res = await fetch(`${server.url}/go/bench/${MODULE}/@v/${version}.zip`, {
        method: 'PUT',
        headers: { authorization: ADMIN_AUTH },
        body: Bun.file(file),
      });
      const text = await res.text();
      if (res.status !== 201) throw new Error(`upload: ${res.status} ${text}`);
      return text;
    });
    const down = await measured(server.pid, async () => {
      const res = await fetch(`${server.url}/go/bench/${MODULE}/@v/${version}.zip`, { headers: { authorization: ADMIN_AUTH } });
      let bytes = 0;
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.byteLength;
      if (bytes !== size) throw new Error(`download returned ${bytes} of ${size} bytes`);
      return bytes;
    });
    await rm(file);
    const hwm = statusBytes(server.pid, 'VmHWM');
    console.log(
      `round ${round}: ${mb(size)} zip | upload+check ${(up.ms / 1000).toFixed(2)} s (${(size / MiB / (up.ms / 1000)).toFixed(0)} MiB/s), ` +
        `RSS ${mb(up.base)} -> peak ${mb(up.peak)} (+${mb(up.peak - up.base)}) | download ${(down.ms / 1000).toFixed(2)} s, ` +
        `peak +${mb(down.peak - down.base)} | process high-water ${mb(hwm)}`,
    );
  }
} finally {
  await server.stop();
  await db?.drop();
  await rm(dir, { recursive: true, force: true });
}
