/**
 * One client, a cold proxy: time to the last byte of a big module zip the proxy repository has
 * not cached yet, against fetching the same bytes from the (loopback) upstream directly. Rounds
 * alternate direct and proxied, each proxied round on a version never asked before, so every
 * proxied fetch is a fill. The server's RSS growth during the fill is sampled from /proc.
 *
 *   bun bench/cold-fill.bench.ts [MiB=100] [rounds=4] [--gc-mib=16,0] [--baseline=DIR]
 *
 * --gc-mib starts one server per ORBITREPO_FULL_GC_EVERY_MIB value and times them in the same rounds
 * (each against the same direct fetch), so a setting is compared under the same load. --baseline also
 * starts the server of another checkout (e.g. `git archive main | tar -x -C DIR`, with node_modules) with
 * each setting, timed in the same rounds, so a change is compared with the code before it under the same load.
 *
 * Two references run in the same rounds: a bare relay on Bun (bench/support/relay-server.ts: the upstream's
 * body streamed through, nothing checked or stored) and the same relay hashing the bytes twice with SHA-256,
 * as a checked fill must (the zip's content address, and its files for the h1: checksum).
 * They are the floor of any proxy on this runtime and machine: a ratio the bare relay does not reach, no
 * checked and stored fill reaches either.
 *
 * The target: proxied ≤ 1.2× direct, RSS growth ≤ 20 MB. The server runs as its own
 * process (`bun run src/index.ts`, PGlite, filesystem storage). The load average is printed,
 * since the figures mean little without it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_AUTH } from '../test/support/app';
import { type ServerProcess, startServerProcess } from '../test/support/server';
import { startStubUpstream } from '../test/support/stub-upstream';
import { writeZipFile, type ZipEntrySpec } from '../test/support/zipbuild';
import { cpuMs, rssBytes } from './support/proc';

const MiB = 1024 * 1024;
const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const sizeMiB = Number(positional[0] ?? 100);
const rounds = Number(positional[1] ?? 4);
const MODULE = 'example.com/bench/cold';

const mb = (n: number) => `${(n / MiB).toFixed(1)} MiB`;

/** Incompressible 1 MiB files, stored: the zip is as big as asked, and written without holding it in memory. */
async function* entries(version: string): AsyncIterable<ZipEntrySpec> {
  yield { name: `${MODULE}@${version}/go.mod`, data: `module ${MODULE}\n\ngo 1.21\n` };
  for (let i = 0; i < sizeMiB; i++) yield { name: `${MODULE}@${version}/data/part${i}.bin`, data: randomBytes(MiB), method: 0 };
}

/** GET url to the end; milliseconds to the last byte, bytes, and the RSS peak of `pid` meanwhile. */
async function timed(url: string, pid: number) {
  const base = rssBytes(pid);
  const cpuBefore = cpuMs(pid);
  let peak = base;
  const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), 10);
  const started = performance.now();
  const res = await fetch(url);
  let bytes = 0;
  let firstMs = 0;
  const reader = res.body!.getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    if (bytes === 0) firstMs = performance.now() - started;
    bytes += r.value.byteLength;
  }
  const ms = performance.now() - started;
  clearInterval(sampler);
  return { ms, firstMs, bytes, status: res.status, growth: Math.max(peak, rssBytes(pid)) - base, cpuMs: cpuMs(pid) - cpuBefore };
}

const work = await mkdtemp(join(tmpdir(), 'orbit-coldfill-'));
const stub = await startStubUpstream();
// --gc-mib=16,0: one server per ORBITREPO_FULL_GC_EVERY_MIB value, all timed in the same interleaved rounds.
const gcArg = process.argv.find((a) => a.startsWith('--gc-mib='))?.slice('--gc-mib='.length);
const gcSettings: (string | undefined)[] = gcArg ? gcArg.split(',') : [undefined];
const baseline = process.argv.find((a) => a.startsWith('--baseline='))?.slice('--baseline='.length);
const settings = [
  ...gcSettings.map((gc) => ({ gc, root: undefined as string | undefined })),
  ...(baseline ? gcSettings.map((gc) => ({ gc, root: baseline })) : []),
];
const versions = Array.from({ length: rounds * settings.length }, (_, i) => `v1.0.${100 + i}`); // one length: every zip the same size
let zipSize = 0;
for (const v of versions) {
  const path = join(work, `${v}.zip`);
  zipSize = await writeZipFile(path, entries(v));
  stub.addModule(MODULE, v, { zipFile: { path, size: zipSize } });
}
const servers: ServerProcess[] = [];
const relays: { name: string; url: string; proc: ReturnType<typeof Bun.spawn> }[] = [];
try {
  for (const [name, hashes] of [
    ['bare relay', '0'],
    ['relay hashing twice', '2'],
  ] as const) {
    const proc = Bun.spawn([process.execPath, join(import.meta.dir, 'support', 'relay-server.ts')], {
      env: { ...process.env, RELAY_UPSTREAM: stub.url, RELAY_HASHES: hashes },
      stdout: 'pipe',
      stderr: 'inherit',
    });
    const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
    const line = new TextDecoder().decode((await reader.read()).value);
    reader.releaseLock();
    const url = /relay listening on (\S+)/.exec(line)?.[1];
    if (!url) throw new Error(`${name} did not start: ${line}`);
    relays.push({ name, url, proc });
  }
  for (const [i, { gc, root }] of settings.entries()) {
    // The zips are made here, so no checksum database knows them: the bench measures the fill itself.
    const server = await startServerProcess(
      {
        ORBITREPO_DATA_DIR: join(work, `data${i}`),
        ORBITREPO_GOSUMDB: 'off',
        ...(gc === undefined ? {} : { ORBITREPO_FULL_GC_EVERY_MIB: gc }),
      },
      { root },
    );
    servers.push(server);
    const created = await fetch(`${server.url}/api/v1/repositories`, {
      method: 'POST',
      headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'go-proxy', type: 'proxy', remoteUrl: stub.url }),
    });
    if (created.status !== 201) throw new Error(`creating the proxy repository: ${created.status} ${await created.text()}`);
    stub.addModule('example.com/bench/small', 'v1.0.0');
    await (await fetch(`${server.url}/go/go-proxy/example.com/bench/small/@v/v1.0.0.zip`)).arrayBuffer();
  }
  await Bun.sleep(500);

  const ratios: number[][] = settings.map(() => []);
  const relayRatios: number[][] = relays.map(() => []);
  const label = (i: number) => {
    const { gc, root } = settings[i];
    const which = root === undefined ? 'proxied cold' : 'baseline cold';
    if (gc === undefined) return which;
    return Number(gc) > 0 ? `${which} (full GC every ${gc} MiB)` : `${which} (no periodic full GC)`;
  };
  console.log(
    `cold fill: one ${mb(zipSize)} zip per round, ${rounds} rounds, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  for (let r = 0; r < rounds; r++) {
    const direct = await timed(`${stub.url}/${stub.paths(MODULE, versions[r]).zip}`, servers[0].pid);
    if (direct.bytes !== zipSize) throw new Error(`direct: ${direct.bytes} bytes, want ${zipSize}`);
    for (const [i, relay] of relays.entries()) {
      const through = await timed(`${relay.url}/${stub.paths(MODULE, versions[r]).zip}`, relay.proc.pid);
      if (through.bytes !== zipSize) throw new Error(`${relay.name}: ${through.bytes} bytes, want ${zipSize}`);
      relayRatios[i].push(through.ms / direct.ms);
      console.log(
        `  round ${r + 1}: ${relay.name} ${through.ms.toFixed(0)} ms (${(through.ms / direct.ms).toFixed(2)}×), CPU ${through.cpuMs} ms, RSS growth ${mb(through.growth)}`,
      );
    }
    for (const [i, server] of servers.entries()) {
      const v = versions[r * servers.length + i];
      const proxied = await timed(`${server.url}/go/go-proxy/${stub.paths(MODULE, v).zip}`, server.pid);
      if (proxied.bytes !== zipSize || proxied.status !== 200)
        throw new Error(`${v}: proxied ${proxied.status} ${proxied.bytes} bytes, want ${zipSize}`);
      ratios[i].push(proxied.ms / direct.ms);
      console.log(
        `  round ${r + 1}: direct ${direct.ms.toFixed(0)} ms, ${label(i)} ${proxied.ms.toFixed(0)} ms (${(proxied.ms / direct.ms).toFixed(2)}×, first byte after ${proxied.firstMs.toFixed(0)} ms), server CPU ${proxied.cpuMs} ms, RSS growth ${mb(proxied.growth)}`,
      );
    }
  }
  const medianOf = (rs: number[]) => [...rs].sort((a, b) => a - b)[Math.floor(rs.length / 2)].toFixed(2);
  for (const [i, rs] of relayRatios.entries()) console.log(`  ${relays[i].name}: median ratio ${medianOf(rs)}× (a floor, not a target)`);
  for (const [i, rs] of ratios.entries()) console.log(`  ${label(i)}: median ratio ${medianOf(rs)}× (target ≤ 1.2×)`);
  console.log(
    `  load average after ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
} finally {
  for (const relay of relays) relay.proc.kill();
  for (const server of servers) await server.stop();
  await stub.close();
  await rm(work, { recursive: true, force: true });
}
