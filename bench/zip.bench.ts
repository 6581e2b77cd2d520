/**
 * A warm hosted `.zip` from the filesystem store against nginx serving the same bytes (issue 14), and the
 * server's memory while 50 clients download the largest one.
 *
 *   bun bench/zip.bench.ts [--rounds=3] [--duration=5s] [--threads=2] [--connections=50] [--baseline=/path/to/checkout]
 *
 * Starts the standalone server (`bun run src/index.ts`, embedded PGlite, its own data dir), publishes
 * zips of about 1 KiB, 300 KiB and 10 MiB (incompressible content), and starts nginx (its own prefix and
 * config, not a daemon) on loopback over a root holding the exact bytes the server answered, under the same
 * paths. nginx's worker runs as `nobody` when started as root: every directory of its root is made
 * world-readable, and before measuring nginx must answer 200 with those exact bytes for every zip.
 * A `.info` of the same server is measured too, for reference: the same request path with an in-memory body,
 * so that what is left of the zips' gap to nginx is seen apart from the body's share of it.
 * With --baseline, a second server runs from that checkout (a `git worktree` of main) with the same zips.
 * Then `wrk` runs each zip INTERLEAVED (server, baseline, nginx, … for `rounds` rounds) and the table
 * shows medians; a run with an answer that is not 2xx is refused. During the 10 MiB runs each server's RSS
 * is sampled every 50 ms: its peak, against its RSS idle before the load, says whether memory stays flat.
 * The machine is shared: only ratios taken in the same run mean anything.
 *
 * Needs `wrk` and `nginx` on PATH (apt-get install -y nginx wrk).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ADMIN_AUTH } from '../test/support/app';
import { type ServerProcess, startServerProcess } from '../test/support/server';
import { buildModuleZip } from '../test/support/zipbuild';
import { benchArgs } from './support/args';
import { rssBytes } from './support/proc';

const args = benchArgs();
const ROUNDS = Number(args.get('rounds') ?? 3);
const DURATION = args.get('duration') ?? '5s';
const THREADS = Number(args.get('threads') ?? 2);
const CONNECTIONS = Number(args.get('connections') ?? 50);
const BASELINE = args.get('baseline');

const KiB = 1024;
const MiB = 1024 * KiB;
const MOD = 'example.com/bench/zip';
/** Content bytes per zip; the zip adds its headers (random content does not compress). */
const SIZES = [
  { name: '~1 KiB', version: 'v1.0.0', content: 1 * KiB },
  { name: '~300 KiB', version: 'v1.1.0', content: 300 * KiB },
  { name: '~10 MiB', version: 'v1.2.0', content: 10 * MiB },
];
const LARGEST = SIZES[SIZES.length - 1];
/** The same request path with an in-memory body, for reference: what is left of the gap is not the body's. */
const INFO = { name: '.info (reference)', path: `/go/hosted/${MOD}/@v/${SIZES[0].version}.info` };

interface Sample {
  rps: number;
  p99ms: number;
  non2xx: number;
}

function parseWrk(out: string): Sample {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? Number.NaN);
  const m = /\s99%\s+([\d.]+)(us|ms|s)\b/.exec(out);
  const unit = m?.[2] === 'us' ? 0.001 : m?.[2] === 's' ? 1000 : 1;
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  return { rps, p99ms: m ? Number(m[1]) * unit : Number.NaN, non2xx };
}

async function wrk(url: string): Promise<Sample> {
  const p = Bun.spawn(['wrk', `-t${THREADS}`, `-c${CONNECTIONS}`, `-d${DURATION}`, '--latency', url], { stdout: 'pipe', stderr: 'pipe' });
  const out = await new Response(p.stdout).text();
  await p.exited;
  const sample = parseWrk(out);
  if (sample.non2xx > 0 || Number.isNaN(sample.rps)) throw new Error(`${url}: ${sample.non2xx} answers were not 2xx\n${out}`);
  return sample;
}

const median = (xs: number[]) => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const rssMiB = (pid: number) => rssBytes(pid) / (1024 * 1024);

/** Samples a process's RSS every 50 ms until stopped; returns the highest seen. */
function watchRss(pid: number): () => number {
  let peak = rssMiB(pid);
  const timer = setInterval(() => {
    peak = Math.max(peak, rssMiB(pid));
  }, 50);
  return () => {
    clearInterval(timer);
    return Math.max(peak, rssMiB(pid));
  };
}

/** Waits until the server answers /health promptly: requests wrk gave up on may still be draining. */
async function settle(url: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const started = performance.now();
    await fetch(`${url}/health`).catch(() => {});
    if (performance.now() - started < 50) return;
    await Bun.sleep(200);
  }
}

async function publish(server: ServerProcess, zips: Map<string, Uint8Array<ArrayBuffer>>): Promise<void> {
  const made = await fetch(`${server.url}/api/v1/repositories`, {
    method: 'POST',
    headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'hosted', type: 'hosted', anonymousRead: true }),
  });
  if (made.status !== 201) throw new Error(`create repository: ${made.status} ${await made.text()}`);
  for (const [path, zip] of zips) {
    const res = await fetch(`${server.url}${path}`, { method: 'PUT', headers: { authorization: ADMIN_AUTH }, body: zip });
    if (res.status !== 201) throw new Error(`upload ${path}: ${res.status} ${await res.text()}`);
  }
}

/** Fails unless url answers 200 with exactly these bytes (exact: false, as many bytes). */
async function expectBytes(what: string, url: string, want: Uint8Array, exact: boolean): Promise<void> {
  const res = await fetch(url);
  const got = new Uint8Array(await res.arrayBuffer());
  const same = exact ? Buffer.compare(Buffer.from(got), Buffer.from(want)) === 0 : got.byteLength === want.byteLength;
  if (res.status !== 200 || !same) {
    throw new Error(`${what} ${url}: status ${res.status}, ${got.byteLength} bytes, not the ${want.byteLength} published`);
  }
}

/** Makes `dir` and every directory above it up to `top` readable and searchable by nginx's worker. */
function openUp(dir: string, top: string): void {
  for (let d = dir; d.startsWith(top); d = dirname(d)) {
    chmodSync(d, 0o755);
    if (d === top) break;
  }
}

async function startNginx(root: string, dir: string): Promise<{ url: string; stop(): Promise<void> }> {
  const port = 20000 + Math.floor(Math.random() * 20000);
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  client_body_temp_path ${dir}/tmp_body;
  proxy_temp_path ${dir}/tmp_proxy;
  fastcgi_temp_path ${dir}/tmp_fastcgi;
  uwsgi_temp_path ${dir}/tmp_uwsgi;
  scgi_temp_path ${dir}/tmp_scgi;
  types { application/zip zip; }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${port};
    root ${root};
  }
}
`,
  );
  const p = Bun.spawn(['nginx', '-p', dir, '-c', conf], { stdout: 'ignore', stderr: 'pipe' });
  for (let i = 0; i < 50; i++) {
    try {
      await fetch(`http://127.0.0.1:${port}/`);
      return {
        url: `http://127.0.0.1:${port}`,
        async stop() {
          p.kill('SIGQUIT');
          await p.exited;
        },
      };
    } catch {
      await Bun.sleep(100);
    }
  }
  p.kill('SIGKILL');
  throw new Error(`nginx did not start: ${await new Response(p.stderr).text()}`);
}

interface Target {
  name: string;
  url: string;
  /** The server process, for RSS (nginx has none to watch here). */
  server?: ServerProcess;
  idleMiB?: number;
  peakMiB?: number;
}

/** One request measured: a zip (its published bytes) or the reference .info (the bytes the server answers). */
interface Case {
  name: string;
  path: string;
  body?: Uint8Array<ArrayBuffer>;
}

async function main() {
  const work = await mkdtemp(join(tmpdir(), 'orbit-zip-bench-'));
  const pathOf = (v: string) => `/go/hosted/${MOD}/@v/${v}.zip`;
  const cases: Case[] = SIZES.map((s) => ({
    name: s.name,
    path: pathOf(s.version),
    body: buildModuleZip(MOD, s.version, { 'go.mod': `module ${MOD}\n`, 'blob.bin': new Uint8Array(randomBytes(s.content)) }),
  }));
  const zips = new Map(cases.map((c) => [c.path, c.body!]));
  cases.push({ name: INFO.name, path: INFO.path });
  const servers: ServerProcess[] = [];
  let nginx: Awaited<ReturnType<typeof startNginx>> | undefined;
  try {
    const targets: Target[] = [];
    const start = async (name: string, dataDir: string, root?: string) => {
      const server = await startServerProcess({ ORBITREPO_DATA_DIR: dataDir }, { startTimeoutMs: 300_000, root });
      servers.push(server);
      await publish(server, zips);
      targets.push({ name, url: server.url, server });
    };
    await start('server', join(work, 'data'));
    if (BASELINE) await start('baseline', join(work, 'data-baseline'), BASELINE);

    const root = join(work, 'nginx-root');
    for (const c of cases) {
      // The .info holds the publish time, which differs per server: nginx gets the first server's answer.
      if (!c.body) {
        const res = await fetch(`${targets[0].url}${c.path}`);
        if (res.status !== 200) throw new Error(`${c.name}: ${res.status}`);
        c.body = new Uint8Array(await res.arrayBuffer());
      }
      for (const t of targets) await expectBytes(t.name, `${t.url}${c.path}`, c.body, zips.has(c.path));
      const file = join(root, c.path);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, c.body);
      openUp(dirname(file), work);
      chmodSync(file, 0o644);
    }
    nginx = await startNginx(root, join(work, 'nginx'));
    for (const c of cases) await expectBytes('nginx', `${nginx.url}${c.path}`, c.body!, true);
    targets.push({ name: 'nginx', url: nginx.url });

    await Bun.sleep(1000);
    for (const t of targets) if (t.server) t.idleMiB = rssMiB(t.server.pid);
    const samples = new Map<string, Sample[]>();
    for (let r = 0; r < ROUNDS; r++) {
      for (const c of cases) {
        for (const t of targets) {
          const stop = c.name === LARGEST.name && t.server ? watchRss(t.server.pid) : undefined;
          const key = `${c.name}\n${t.name}`;
          samples.set(key, [...(samples.get(key) ?? []), await wrk(`${t.url}${c.path}`)]);
          if (stop) t.peakMiB = Math.max(t.peakMiB ?? 0, stop());
          if (t.server) await settle(t.url);
          process.stderr.write('.');
        }
      }
    }
    process.stderr.write('\n');
    report(targets, cases, samples);
  } finally {
    await nginx?.stop();
    for (const s of servers) await s.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

function report(targets: Target[], cases: Case[], samples: Map<string, Sample[]>) {
  const fmt = (n: number, d = 0) => (Number.isNaN(n) ? '—' : n.toFixed(d));
  const rate = (c: string, target: string) => median((samples.get(`${c}\n${target}`) ?? []).map((x) => x.rps));
  const p99 = (c: string, target: string) => median((samples.get(`${c}\n${target}`) ?? []).map((x) => x.p99ms));
  const names = targets.map((t) => t.name);
  const base = names.includes('baseline');
  console.log(`\n## warm hosted .zip: wrk -t${THREADS} -c${CONNECTIONS} -d${DURATION}, ${ROUNDS} interleaved rounds, medians\n`);
  console.log(
    `| request | bytes | ${names.map((n) => `${n} req/s | ${n} p99 ms`).join(' | ')} | server/nginx |${base ? ' baseline/nginx | server/baseline |' : ''}`,
  );
  console.log(`|---|---:|${names.map(() => '---:|---:').join('|')}|---:|${base ? '---:|---:|' : ''}`);
  for (const c of cases) {
    const cells = names.map((n) => `${fmt(rate(c.name, n))} | ${fmt(p99(c.name, n), 1)}`);
    const ratios = [rate(c.name, 'server') / rate(c.name, 'nginx')];
    if (base) ratios.push(rate(c.name, 'baseline') / rate(c.name, 'nginx'), rate(c.name, 'server') / rate(c.name, 'baseline'));
    console.log(`| ${c.name} | ${c.body!.byteLength} | ${cells.join(' | ')} | ${ratios.map((x) => fmt(x, 2)).join(' | ')} |`);
  }
  console.log(`\nRSS while ${CONNECTIONS} connections download the ${LARGEST.name} zip (sampled every 50 ms):`);
  for (const t of targets) {
    if (t.server) console.log(`- ${t.name}: ${fmt(t.idleMiB!)} MiB idle before the load, peak ${fmt(t.peakMiB!)} MiB`);
  }
}

await main();
