/**
 * Fan-in on a cold proxy: N concurrent clients ask a proxy repository for one big module zip
 * that is not cached yet. Shows that the upstream is asked once and that the server's memory
 * does not grow with the zip's size (it is streamed to storage, checked there, then served
 * from storage to every client).
 *
 *   bun bench/proxy-fanin.bench.ts [MiB=100] [clients=50] [--postgres] [--s3]
 *
 * The server under test runs as a separate process (`bun run src/index.ts`), so its RSS is its
 * own: sampled from /proc every 20 ms. The upstream is a loopback stub serving the zip from disk.
 * --postgres uses ORBITREPO_TEST_DATABASE_URL (a throwaway database); --s3 a local s3rver.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_AUTH } from '../test/support/app';
import { createTestDatabaseUrl } from '../test/support/db';
import { startS3rver } from '../test/support/s3rver';
import { startServerProcess } from '../test/support/server';
import { startStubUpstream } from '../test/support/stub-upstream';
import { writeZipFile, type ZipEntrySpec } from '../test/support/zipbuild';
import { rssBytes } from './support/proc';

const MiB = 1024 * 1024;
const args = process.argv.slice(2);
const positional = args.filter((a) => !a.startsWith('--'));
const sizeMiB = Number(positional[0] ?? 100);
const clients = Number(positional[1] ?? 50);
const usePostgres = args.includes('--postgres');
const useS3 = args.includes('--s3');

const MODULE = 'example.com/bench/big';
const VERSION = 'v1.0.0';

/** Incompressible 1 MiB files, stored (not deflated): the zip is as big as asked, and made without holding it in memory. */
async function* entries(): AsyncIterable<ZipEntrySpec> {
  yield { name: `${MODULE}@${VERSION}/go.mod`, data: `module ${MODULE}\n\ngo 1.21\n` };
  for (let i = 0; i < sizeMiB; i++) yield { name: `${MODULE}@${VERSION}/data/part${i}.bin`, data: randomBytes(MiB), method: 0 };
}

const mb = (n: number) => `${(n / MiB).toFixed(1)} MiB`;

/** `clients` concurrent GETs of url, each read to the end; the server's RSS sampled meanwhile. */
async function round(pid: number, url: string) {
  const base = rssBytes(pid);
  let peak = base;
  const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), 20);
  const started = performance.now();
  let firstByte = Infinity;
  const results = await Promise.all(
    Array.from({ length: clients }, async () => {
      const res = await fetch(url);
      const reader = res.body!.getReader();
      let bytes = 0;
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        if (bytes === 0) firstByte = Math.min(firstByte, performance.now() - started);
        bytes += r.value.byteLength;
      }
      return { status: res.status, bytes };
    }),
  );
  const elapsed = performance.now() - started;
  clearInterval(sampler);
  peak = Math.max(peak, rssBytes(pid));
  return { base, peak, elapsed, firstByte, ok: results.filter((r) => r.status === 200 && r.bytes === zipSize).length };
}

const work = await mkdtemp(join(tmpdir(), 'orbit-fanin-'));
const zipPath = join(work, 'big.zip');
const zipSize = await writeZipFile(zipPath, entries());
const stub = await startStubUpstream();
stub.addModule(MODULE, VERSION, { zipFile: { path: zipPath, size: zipSize } });

// The bench measures the fill; the big zip is built on disk, so the stub has no checksum record of it.
const env: Record<string, string> = { ORBITREPO_DATA_DIR: join(work, 'data'), ORBITREPO_GOSUMDB: 'off' };
const database = usePostgres ? await createTestDatabaseUrl() : undefined;
if (database) env.ORBITREPO_DATABASE_URL = database.url;
const s3 = useS3 ? await startS3rver() : undefined;
if (s3) {
  Object.assign(env, {
    ORBITREPO_STORAGE_TYPE: 's3',
    ORBITREPO_S3_BUCKET: s3.bucket,
    ORBITREPO_S3_ENDPOINT: s3.endpoint,
    ORBITREPO_S3_ACCESS_KEY_ID: s3.accessKeyId,
    ORBITREPO_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    ORBITREPO_S3_FORCE_PATH_STYLE: 'true',
  });
}
const server = await startServerProcess(env);

try {
  const created = await fetch(`${server.url}/api/v1/repositories`, {
    method: 'POST',
    headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'go-proxy', type: 'proxy', remoteUrl: stub.url }),
  });
  if (created.status !== 201) throw new Error(`creating the proxy repository: ${created.status} ${await created.text()}`);
  // Warm the request path (routes, auth, database) on another, small module.
  stub.addModule('example.com/bench/small', VERSION);
  await (await fetch(`${server.url}/go/go-proxy/example.com/bench/small/@v/${VERSION}.zip`)).arrayBuffer();
  await Bun.sleep(500);

  const url = `${server.url}/go/go-proxy/${MODULE}/@v/${VERSION}.zip`;
  const cold = await round(server.pid, url);
  const upstreamZipRequests = stub.count(stub.paths(MODULE, VERSION).zip);
  await Bun.sleep(1000);
  const warm = await round(server.pid, url);
  console.log(
    `proxy fan-in: ${clients} clients, one ${mb(zipSize)} zip, ${usePostgres ? 'PostgreSQL' : 'PGlite'}, ${s3 ? 's3rver' : 'filesystem'} storage`,
  );
  console.log(`  upstream requests for the zip: ${upstreamZipRequests}`);
  for (const [label, r] of [
    ['cold (not cached yet)', cold],
    ['warm (served from storage)', warm],
  ] as const) {
    console.log(`  ${label}:`);
    console.log(`    complete responses:  ${r.ok}/${clients}`);
    console.log(`    time to first byte:  ${r.firstByte.toFixed(0)} ms`);
    console.log(`    time until all done: ${r.elapsed.toFixed(0)} ms (${mb((zipSize * clients) / (r.elapsed / 1000))}/s served)`);
    console.log(`    server RSS:          ${mb(r.base)} before, ${mb(r.peak)} peak (growth ${mb(r.peak - r.base)})`);
  }
  const ok = cold.ok + warm.ok;
  if (upstreamZipRequests !== 1 || ok !== 2 * clients) process.exitCode = 1;
} finally {
  await server.stop();
  await stub.close();
  await s3?.stop();
  await database?.drop();
  await rm(work, { recursive: true, force: true });
}
