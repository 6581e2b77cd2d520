/**
 * What the periodic full collection (src/repos/periodic-full-gc.ts, ORBITREPO_FULL_GC_EVERY_MIB) costs and buys
 * under concurrent proxy fills. Two server processes, one with the switch on (16 MiB) and one off (0), each with a
 * proxy repository over the same loopback upstream. Each round, on each server in turn (the order alternates):
 * `fills` cold zips of `MiB` each are fetched at once, while `probes` clients ask a warm `.info` in a loop. Reported:
 * p50/p99 of the fills, p50/p99 of the warm answers during them (each collection pauses every request in flight),
 * and the server's RSS growth.
 *
 *   bun bench/full-gc.bench.ts [MiB=24] [fills=6] [rounds=3] [probes=4]
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_AUTH } from '../test/support/app';
import { type ServerProcess, startServerProcess } from '../test/support/server';
import { startStubUpstream } from '../test/support/stub-upstream';
import { writeZipFile, type ZipEntrySpec } from '../test/support/zipbuild';
import { rssBytes } from './support/proc';

const MiB = 1024 * 1024;
const [sizeMiB, fills, rounds, probes] = [24, 6, 3, 4].map((d, i) => Number(process.argv[2 + i] ?? d));
const VERSION = 'v1.0.0';

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
};

/** Incompressible data, stored: one random MiB reused, so building many zips costs disk writes only. */
const block = randomBytes(MiB);
async function* entries(module: string): AsyncIterable<ZipEntrySpec> {
  yield { name: `${module}@${VERSION}/go.mod`, data: `module ${module}\n\ngo 1.21\n` };
  for (let i = 0; i < sizeMiB; i++) yield { name: `${module}@${VERSION}/data/part${i}.bin`, data: block, method: 0 };
}

const work = await mkdtemp(join(tmpdir(), 'orbit-fullgc-'));
const stub = await startStubUpstream();
const modulesOf = (round: number) => Array.from({ length: fills }, (_, i) => `example.com/fullgc/r${round}/m${i}`);
for (let r = 0; r < rounds; r++) {
  for (const module of modulesOf(r)) {
    const path = join(work, `${module.replaceAll('/', '_')}.zip`);
    stub.addModule(module, VERSION, { zipFile: { path, size: await writeZipFile(path, entries(module)) } });
  }
}
stub.addModule('example.com/fullgc/warm', VERSION);

interface Side {
  label: string;
  server: ServerProcess;
  fill: number[];
  probe: number[];
  growth: number[];
}

async function start(label: string, everyMiB: string): Promise<Side> {
  // The bench measures fills, not checksum lookups (the zips are built here, unknown to any checksum database).
  const server = await startServerProcess({ ORBITREPO_FULL_GC_EVERY_MIB: everyMiB, ORBITREPO_GOSUMDB: 'off' }, { startTimeoutMs: 120_000 });
  const created = await fetch(`${server.url}/api/v1/repositories`, {
    method: 'POST',
    headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'go-proxy', type: 'proxy', remoteUrl: stub.url }),
  });
  if (created.status !== 201) throw new Error(`creating the proxy repository: ${created.status} ${await created.text()}`);
  const warm = await fetch(`${server.url}/go/go-proxy/example.com/fullgc/warm/@v/${VERSION}.info`);
  if (warm.status !== 200) throw new Error(`warm .info: ${warm.status}`);
  await warm.arrayBuffer();
  return { label, server, fill: [], probe: [], growth: [] };
}

async function round(side: Side, r: number): Promise<void> {
  const { url, pid } = side.server;
  const base = rssBytes(pid);
  let peak = base;
  const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), 20);
  let filling = true;
  const probing = Array.from({ length: probes }, async () => {
    while (filling) {
      const t0 = performance.now();
      const res = await fetch(`${url}/go/go-proxy/example.com/fullgc/warm/@v/${VERSION}.info`);
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`warm .info during fills: ${res.status}`);
      side.probe.push(performance.now() - t0);
    }
  });
  await Promise.all(
    modulesOf(r).map(async (module) => {
      const t0 = performance.now();
      const res = await fetch(`${url}/go/go-proxy/${module}/@v/${VERSION}.zip`);
      const bytes = (await res.arrayBuffer()).byteLength;
      if (res.status !== 200 || bytes < sizeMiB * MiB) throw new Error(`${module}: ${res.status}, ${bytes} bytes`);
      side.fill.push(performance.now() - t0);
    }),
  );
  filling = false;
  await Promise.all(probing);
  clearInterval(sampler);
  side.growth.push(Math.max(peak, rssBytes(pid)) - base);
}

const on = await start('full collection every 16 MiB (default)', '16');
const off = await start('switched off (ORBITREPO_FULL_GC_EVERY_MIB=0)', '0');
const loads: number[] = [];
try {
  for (let r = 0; r < rounds; r++) {
    loads.push(loadavg()[0]);
    for (const side of r % 2 === 0 ? [on, off] : [off, on]) await round(side, r);
    await Bun.sleep(500);
  }
  const ms = (x: number) => `${x.toFixed(0)} ms`;
  console.log(
    `full collection under concurrent fills: ${fills} cold ${sizeMiB} MiB zips at once, ${probes} clients on a warm .info, ${rounds} rounds interleaved`,
  );
  console.log(`  load average (1 min) at each round: ${loads.map((l) => l.toFixed(1)).join(', ')}`);
  for (const s of [on, off]) {
    console.log(`  ${s.label}:`);
    console.log(`    fill time       p50 ${ms(quantile(s.fill, 0.5))}, p99 ${ms(quantile(s.fill, 0.99))} (${s.fill.length} fills)`);
    console.log(`    warm .info      p50 ${ms(quantile(s.probe, 0.5))}, p99 ${ms(quantile(s.probe, 0.99))} (${s.probe.length} answers)`);
    console.log(
      `    RSS growth      max ${(Math.max(...s.growth) / MiB).toFixed(0)} MiB, per round ${s.growth.map((g) => (g / MiB).toFixed(0)).join(', ')}`,
    );
  }
  const ratio = (f: (s: Side) => number) => (f(on) / f(off)).toFixed(2);
  console.log(
    `  on ÷ off: fill p50 ${ratio((s) => quantile(s.fill, 0.5))}, fill p99 ${ratio((s) => quantile(s.fill, 0.99))}, warm p50 ${ratio((s) => quantile(s.probe, 0.5))}, warm p99 ${ratio((s) => quantile(s.probe, 0.99))}`,
  );
} finally {
  await on.server.stop();
  await off.server.stop();
  await stub.close();
  await rm(work, { recursive: true, force: true });
}
