/**
 * Warm GOPROXY answers against nginx serving the same bytes (issue 14).
 *
 *   bun bench/warm.bench.ts [--pglite] [--postgres] [--rounds=3] [--duration=5s] [--threads=2] [--connections=64] [--only=NAME,…]
 *                           [--baseline=/path/to/another/checkout] [--access-log=on|off] [--warmup=1s]
 *
 * For each database (both by default): starts the standalone server (`bun run src/index.ts`) on a
 * throwaway data dir (and, for PostgreSQL, a throwaway database on ORBITREPO_TEST_DATABASE_URL or the
 * local server), sets up hosted, proxy (over a loopback stub upstream), group and private repositories,
 * warms every request once, copies the exact bytes the server answered into an nginx root under the
 * same paths, and starts nginx (its own prefix and config in a temp dir, not a daemon) on loopback.
 * Each request then runs for --warmup on every side, unmeasured (the JIT compiles the warm path then, not
 * during the first measured round). Then `wrk` runs each request INTERLEAVED (server, nginx, server, nginx, … for `rounds` rounds) and
 * the table shows medians. The machine is shared: only ratios taken in the same run mean anything.
 *
 * nginx's worker runs as `nobody` when started as root: every directory of its root is made
 * world-readable, and before measuring, each 200 request must get from nginx the exact bytes the server
 * answered (an earlier version of this script measured nginx's 403 page against the server's files).
 * A wrk run whose answers were not all 2xx/3xx where a 200 is expected is refused, not counted.
 *
 * Both sides log alike: by default each writes one access-log line per request to a file (the server its
 * stdout, as a deployment collects it; nginx its access_log, buffered 64 KiB, the cheapest it offers);
 * with --access-log=off neither logs (ORBITREPO_ACCESS_LOG=false, nginx `access_log off`). The server's
 * stdout is never a pipe this script reads: reading a log line per request here took CPU from the server.
 *
 * The ratios the issue names (a 404 against a hit, a token against none, 1000 versions against 1, a group against
 * its member) are measured again at the end in pairs, each request back to back with the one it is compared with
 * (measurePairs); the table's rows are minutes apart, and the machine's speed moves in between.
 *
 * With --baseline, a second server runs from that checkout (same set-up), measured interleaved as
 * server, baseline, nginx: a before/after of a change in the same run (e.g. a `git worktree` of main).
 *
 * Needs `wrk` and `nginx` on PATH (apt-get install -y nginx wrk).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ADMIN_AUTH, basic } from '../test/support/app';
import { createTestDatabaseUrl } from '../test/support/db';
import { type ServerProcess, startServerProcess } from '../test/support/server';
import { startStubUpstream } from '../test/support/stub-upstream';
import { buildModuleZip } from '../test/support/zipbuild';
import { benchArgs } from './support/args';
import { cpuMs, rssBytes } from './support/proc';

const args = benchArgs();
const ROUNDS = Number(args.get('rounds') ?? 3);
const DURATION = args.get('duration') ?? '5s';
/** Each request is run this long on every side before the rounds, unmeasured: the JIT's warm-up is not a warm answer. */
const WARMUP = args.get('warmup') ?? '1s';
const THREADS = Number(args.get('threads') ?? 2);
const CONNECTIONS = Number(args.get('connections') ?? 64);
const ONLY = args.get('only')?.split(',');
const BASELINE = args.get('baseline');
const ACCESS_LOG = (args.get('access-log') ?? 'on') === 'on';
// The local PostgreSQL the tests use when nothing else is named (trust auth).
process.env.ORBITREPO_TEST_DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/test';
const kinds: ('pglite' | 'postgres')[] = [];
if (args.has('pglite')) kinds.push('pglite');
if (args.has('postgres')) kinds.push('postgres');
if (kinds.length === 0) kinds.push('pglite', 'postgres');

const MOD_PUB = 'example.com/bench/pub';
const MOD_PRIV = 'example.com/bench/priv';
const MOD_MANY = 'example.com/bench/many';
const MOD_ONE = 'example.com/bench/one';
const MOD_UP = 'example.com/bench/upstream';
/** Owned by the hosted repository `owned` (namespaces): a group asks it alone, never the proxy member before it (issue 18). */
const MOD_OWNED = 'example.com/bench/owned/core';
/** A zip over the 64 KiB kept in memory: sent from storage as a file on every request. */
const MOD_BIG = 'example.com/bench/big';
const BIG_ZIP_BYTES = 1 << 20;
const V = 'v1.0.0';
const MANY = Number(args.get('versions') ?? 1000);

interface Scenario {
  name: string;
  path: string;
  auth?: string;
  /** The status the server must answer (checked before measuring). */
  status: number;
  /** Scenario whose rate this one is compared with, and what the issue asks of the ratio. */
  vs?: { name: string; want: number };
}

interface Sample {
  rps: number;
  p99ms: number;
  non2xx: number;
  /** Requests wrk counted as answered. */
  requests: number;
  /** CPU time (user + system) the answering process spent per request, µs; NaN when not measured. */
  cpuUs: number;
}

function parseWrk(out: string): Sample {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? Number.NaN);
  const m = /\s99%\s+([\d.]+)(us|ms|s)\b/.exec(out);
  const unit = m?.[2] === 'us' ? 0.001 : m?.[2] === 's' ? 1000 : 1;
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? Number.NaN);
  return { rps, p99ms: m ? Number(m[1]) * unit : Number.NaN, non2xx, requests, cpuUs: Number.NaN };
}

async function wrk(url: string, auth?: string, duration = DURATION): Promise<Sample> {
  const cmd = [
    'wrk',
    `-t${THREADS}`,
    `-c${CONNECTIONS}`,
    `-d${duration}`,
    '--latency',
    ...(auth ? ['-H', `Authorization: ${auth}`] : []),
    url,
  ];
  const p = Bun.spawn(cmd, { stdout: 'pipe', stderr: 'pipe' });
  const out = await new Response(p.stdout).text();
  await p.exited;
  return parseWrk(out);
}

/**
 * Waits until the server answers /health promptly again: requests wrk gave up on may still be queued,
 * and would be counted against the next request measured.
 */
async function settle(url: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const started = performance.now();
    await fetch(`${url}/health`).catch(() => {});
    if (performance.now() - started < 50) return;
    await Bun.sleep(200);
  }
}

const median = (xs: number[]) => {
  const s = [...xs].filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Waits until `pid` is idle (under 5 % of a core over a second, at most 2 minutes), and returns the seconds
 * waited: after a thousand uploads the database has work of its own to finish (PGlite's autovacuum), which
 * took CPU from both sides of the first rows measured.
 */
async function quiet(pid: number): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < 120_000) {
    const before = cpuMs(pid);
    await Bun.sleep(1000);
    if (cpuMs(pid) - before < 50) break;
  }
  return (performance.now() - started) / 1000;
}

const rssMiB = (pid: number) => rssBytes(pid) / (1024 * 1024);

async function api(server: ServerProcess, method: string, path: string, body?: unknown, auth = ADMIN_AUTH): Promise<any> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function upload(
  server: ServerProcess,
  repo: string,
  module: string,
  version: string,
  auth: string,
  extra?: Uint8Array,
): Promise<void> {
  const zip = buildModuleZip(module, version, {
    'go.mod': `module ${module}\n\ngo 1.21\n`,
    'x.go': `package x\n\nconst V = "${version}"\n`,
    ...(extra ? { 'data.bin': extra } : {}),
  });
  const res = await fetch(`${server.url}/go/${repo}/${module}/@v/${version}.zip`, {
    method: 'PUT',
    headers: { authorization: auth },
    body: zip,
  });
  if (res.status !== 201) throw new Error(`upload ${repo} ${module}@${version}: ${res.status} ${await res.text()}`);
}

/** Runs fn over items with at most n at once. */
async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

async function setUp(server: ServerProcess, stubUrl: string): Promise<{ token: string }> {
  const make = (body: Record<string, unknown>) => api(server, 'POST', '/api/v1/repositories', body);
  await make({ name: 'hosted', type: 'hosted', anonymousRead: true });
  await make({ name: 'private', type: 'hosted', anonymousRead: false });
  await make({ name: 'proxy', type: 'proxy', remoteUrl: stubUrl });
  for (let i = 1; i <= 4; i++) await make({ name: `empty${i}`, type: 'hosted', anonymousRead: true });
  await make({ name: 'group', type: 'group', members: ['hosted', 'proxy'], anonymousRead: true });
  await make({ name: 'group5', type: 'group', members: ['empty1', 'empty2', 'empty3', 'empty4', 'hosted'], anonymousRead: true });
  await make({ name: 'owned', type: 'hosted', anonymousRead: true, namespaces: ['example.com/bench/owned'] });
  await make({ name: 'routed', type: 'group', members: ['proxy', 'empty1', 'empty2', 'empty3', 'owned'], anonymousRead: true });
  await api(server, 'POST', '/api/v1/users', { username: 'bench', password: 'bench-password' });
  await api(server, 'PUT', '/api/v1/repositories/private/permissions/bench', { role: 'read' });
  const { token } = await api(server, 'POST', '/api/v1/tokens', { name: 'bench' }, basic('bench', 'bench-password'));
  const { token: adminToken } = await api(server, 'POST', '/api/v1/tokens', { name: 'bench-admin' });
  const adminAuth = basic('admin', adminToken);

  await upload(server, 'hosted', MOD_PUB, V, adminAuth);
  await upload(server, 'private', MOD_PRIV, V, adminAuth);
  await upload(server, 'hosted', MOD_ONE, V, adminAuth);
  await upload(server, 'hosted', MOD_BIG, V, adminAuth, new Uint8Array(randomBytes(BIG_ZIP_BYTES)));
  await upload(server, 'owned', MOD_OWNED, V, adminAuth);
  const versions = Array.from({ length: MANY }, (_, i) => `v1.${Math.floor(i / 100)}.${i % 100}`);
  await pool(versions, 4, (v) => upload(server, 'hosted', MOD_MANY, v, adminAuth));
  return { token };
}

function scenarios(token: string): Scenario[] {
  const tokenAuth = basic('bench', token);
  return [
    { name: 'proxy .info', path: `/go/proxy/${MOD_UP}/@v/${V}.info`, status: 200 },
    { name: 'proxy .mod', path: `/go/proxy/${MOD_UP}/@v/${V}.mod`, status: 200 },
    { name: 'hosted .info', path: `/go/hosted/${MOD_PUB}/@v/${V}.info`, status: 200 },
    { name: 'hosted .mod', path: `/go/hosted/${MOD_PUB}/@v/${V}.mod`, status: 200 },
    { name: 'group .info (proxy member)', path: `/go/group/${MOD_UP}/@v/${V}.info`, status: 200 },
    { name: 'group .mod (hosted member)', path: `/go/group/${MOD_PUB}/@v/${V}.mod`, status: 200 },
    {
      name: 'private .info, token',
      path: `/go/private/${MOD_PRIV}/@v/${V}.info`,
      auth: tokenAuth,
      status: 200,
      vs: { name: 'hosted .info', want: 0.8 },
    },
    { name: 'proxy .info, token', path: `/go/proxy/${MOD_UP}/@v/${V}.info`, auth: tokenAuth, status: 200 },
    { name: 'hosted .mod, token', path: `/go/hosted/${MOD_PUB}/@v/${V}.mod`, auth: tokenAuth, status: 200 },
    { name: 'group .info, token', path: `/go/group/${MOD_UP}/@v/${V}.info`, auth: tokenAuth, status: 200 },
    { name: 'hosted .zip', path: `/go/hosted/${MOD_PUB}/@v/${V}.zip`, status: 200 },
    { name: 'hosted .zip, 1 MiB (from storage)', path: `/go/hosted/${MOD_BIG}/@v/${V}.zip`, status: 200 },
    {
      name: 'proxy 404 (negative)',
      path: `/go/proxy/example.com/bench/missing/@v/${V}.info`,
      status: 404,
      vs: { name: 'proxy .info', want: 1 },
    },
    { name: 'list, 1 version', path: `/go/hosted/${MOD_ONE}/@v/list`, status: 200 },
    { name: `list, ${MANY} versions`, path: `/go/hosted/${MOD_MANY}/@v/list`, status: 200, vs: { name: 'list, 1 version', want: 0.8 } },
    { name: '@latest, 1 version', path: `/go/hosted/${MOD_ONE}/@latest`, status: 200 },
    {
      name: `@latest, ${MANY} versions`,
      path: `/go/hosted/${MOD_MANY}/@latest`,
      status: 200,
      vs: { name: '@latest, 1 version', want: 0.8 },
    },
    { name: 'member list directly', path: `/go/hosted/${MOD_PUB}/@v/list`, status: 200 },
    { name: 'group of 5 list', path: `/go/group5/${MOD_PUB}/@v/list`, status: 200, vs: { name: 'member list directly', want: 0.8 } },
    {
      name: 'routed group list (owned path)',
      path: `/go/routed/${MOD_OWNED}/@v/list`,
      status: 200,
      vs: { name: 'member list directly', want: 0.8 },
    },
  ].filter((s) => !ONLY || ONLY.some((o) => s.name.includes(o)));
}

async function startNginx(root: string, dir: string): Promise<{ url: string; workerPid: number; stop(): Promise<void> }> {
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
  ${ACCESS_LOG ? `access_log ${dir}/logs/access.log combined buffer=64k;` : 'access_log off;'}
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  client_body_temp_path ${dir}/tmp_body;
  proxy_temp_path ${dir}/tmp_proxy;
  fastcgi_temp_path ${dir}/tmp_fastcgi;
  uwsgi_temp_path ${dir}/tmp_uwsgi;
  scgi_temp_path ${dir}/tmp_scgi;
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
      // The one worker answers; the master only watches it.
      const workerPid = Number(readFileSync(`/proc/${p.pid}/task/${p.pid}/children`, 'utf8').trim().split(' ')[0]);
      return {
        url: `http://127.0.0.1:${port}`,
        workerPid,
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

interface Row {
  scenario: Scenario;
  server: Sample[];
  baseline: Sample[];
  nginx: Sample[];
}

/** Makes `dir` and every directory above it up to `top` readable and searchable by nginx's worker. */
function openUp(dir: string, top: string): void {
  for (let d = dir; d.startsWith(top); d = dirname(d)) {
    chmodSync(d, 0o755);
    if (d === top) break;
  }
}

/**
 * One measurement: refuses a run whose answers were not what the warm-up saw. With `pid`, also the CPU time
 * that process spent per request: steadier than req/s on a 2-core machine, where wrk takes its share of the
 * same cores and a side that spends more CPU per request (its collector's threads too) leaves wrk less.
 */
async function measure(url: string, scenario: Scenario, pid?: number): Promise<Sample> {
  const before = pid === undefined ? 0 : cpuMs(pid);
  const sample = await wrk(url, scenario.auth);
  if (pid !== undefined) sample.cpuUs = ((cpuMs(pid) - before) * 1000) / sample.requests;
  if (scenario.status === 200 && sample.non2xx > 0)
    throw new Error(`${scenario.name}: ${sample.non2xx} answers were not 2xx/3xx at ${url}`);
  return sample;
}

interface Measured {
  server: ServerProcess;
  token: string;
  setupSeconds: number;
  idleAtStart: number;
}

async function startAndSetUp(env: Record<string, string>, stubUrl: string, root?: string): Promise<Measured> {
  const logFile = join(env.ORBITREPO_DATA_DIR, '..', `${env.ORBITREPO_DATA_DIR.split('/').at(-1)}.log`);
  const server = await startServerProcess(
    { ...env, ...(ACCESS_LOG ? {} : { ORBITREPO_ACCESS_LOG: 'false' }) },
    { startTimeoutMs: 300_000, root, logFile },
  );
  await Bun.sleep(2000);
  const idleAtStart = rssMiB(server.pid);
  const t0 = performance.now();
  const { token } = await setUp(server, stubUrl);
  return { server, token, setupSeconds: (performance.now() - t0) / 1000, idleAtStart };
}

async function fetchBytes(url: string, auth?: string): Promise<{ status: number; body: Uint8Array }> {
  const res = await fetch(url, { headers: auth ? { authorization: auth } : {} });
  return { status: res.status, body: new Uint8Array(await res.arrayBuffer()) };
}

async function runKind(kind: 'pglite' | 'postgres') {
  const work = await mkdtemp(join(tmpdir(), 'orbit-warm-'));
  const stub = await startStubUpstream();
  stub.addModule(MOD_UP, V);
  const databases = [kind === 'postgres' ? await createTestDatabaseUrl() : undefined];
  if (BASELINE) databases.push(kind === 'postgres' ? await createTestDatabaseUrl() : undefined);
  const envFor = (i: number): Record<string, string> => {
    const env: Record<string, string> = { ORBITREPO_DATA_DIR: join(work, `data${i}`) };
    const database = databases[i];
    if (database) env.ORBITREPO_DATABASE_URL = database.url;
    return env;
  };
  const started: Measured[] = [];
  let nginx: Awaited<ReturnType<typeof startNginx>> | undefined;
  try {
    const main = await startAndSetUp(envFor(0), stub.url);
    started.push(main);
    const base = BASELINE ? await startAndSetUp(envFor(1), stub.url, BASELINE) : undefined;
    if (base) started.push(base);
    const server = main.server;
    // Tokens differ per server: each scenario is built from its own server's token.
    const list = scenarios(main.token);
    const baseList = base ? scenarios(base.token) : undefined;

    // Warm each request, check its status, and write the exact bytes into nginx's root.
    const root = join(work, 'nginx-root');
    for (const [i, s] of list.entries()) {
      const { status, body } = await fetchBytes(`${server.url}${s.path}`, s.auth);
      if (status !== s.status) throw new Error(`${s.name}: expected ${s.status}, got ${status} ${new TextDecoder().decode(body)}`);
      if (base && baseList) {
        const b = await fetchBytes(`${base.server.url}${s.path}`, baseList[i].auth);
        if (b.status !== s.status) throw new Error(`${s.name}: the baseline answered ${b.status}`);
      }
      if (s.status === 200) {
        const file = join(root, s.path);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, body);
        openUp(dirname(file), work);
        chmodSync(file, 0o644);
      }
    }
    nginx = await startNginx(root, join(work, 'nginx'));
    for (const s of list) {
      if (s.status !== 200) continue;
      const { status, body } = await fetchBytes(`${nginx.url}${s.path}`);
      const mine = await fetchBytes(`${server.url}${s.path}`, s.auth);
      if (status !== 200 || !Buffer.from(body).equals(Buffer.from(mine.body))) {
        throw new Error(`${s.name}: nginx answered ${status} with ${body.length} bytes, not the server's ${mine.body.length} bytes`);
      }
    }
    const quietSeconds = await quiet(server.pid);
    if (base) await quiet(base.server.pid);
    process.stderr.write(`server idle after ${quietSeconds.toFixed(0)} s\n`);
    const idleAfterSetup = rssMiB(server.pid);

    for (const [i, s] of list.entries()) {
      await wrk(`${server.url}${s.path}`, s.auth, WARMUP);
      if (base && baseList) await wrk(`${base.server.url}${s.path}`, baseList[i].auth, WARMUP);
      await wrk(`${nginx.url}${s.path}`, s.auth, WARMUP);
    }
    await settle(server.url);
    const rows: Row[] = list.map((scenario) => ({ scenario, server: [], baseline: [], nginx: [] }));
    for (let r = 0; r < ROUNDS; r++) {
      for (const [i, row] of rows.entries()) {
        row.server.push(await measure(`${server.url}${row.scenario.path}`, row.scenario, server.pid));
        await settle(server.url);
        if (base && baseList) {
          row.baseline.push(await measure(`${base.server.url}${row.scenario.path}`, baseList[i], base.server.pid));
          await settle(base.server.url);
        }
        row.nginx.push(await measure(`${nginx.url}${row.scenario.path}`, row.scenario, nginx.workerPid));
        process.stderr.write('.');
      }
    }
    process.stderr.write('\n');
    const pairs = await measurePairs(server, list);
    const peak = rssMiB(server.pid);
    report(kind, rows, pairs, { idleAtStart: main.idleAtStart, idleAfterSetup, peak, setupSeconds: main.setupSeconds });
  } finally {
    await nginx?.stop();
    for (const m of started) await m.server.stop();
    await stub.close();
    for (const d of databases) await d?.drop();
    rmSync(work, { recursive: true, force: true });
  }
}

/** Per round, a request's rate ÷ its reference's, and the reference's CPU per request ÷ the request's (above 1: cheaper). */
interface Paired {
  rate: number[];
  cpu: number[];
}

/**
 * The ratios the issue names, each request measured next to the request it is compared with: the table's rows
 * are minutes apart, and on this shared machine the same request has moved by a fifth between them. Each
 * round runs the pair back to back on the server, in turning order (A then B, then B then A), for at least
 * 3 rounds; the ratio of each round is kept, and the median reported.
 */
async function measurePairs(server: ServerProcess, list: Scenario[]): Promise<Map<string, Paired>> {
  const pairs = new Map<string, Paired>();
  const rounds = Math.max(ROUNDS, 3);
  for (const s of list) {
    const ref = s.vs && list.find((r) => r.name === s.vs!.name);
    if (!ref) continue;
    const paired: Paired = { rate: [], cpu: [] };
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? [s, ref] : [ref, s];
      const got = new Map<Scenario, Sample>();
      for (const x of order) {
        got.set(x, await measure(`${server.url}${x.path}`, x, server.pid));
        await settle(server.url);
      }
      paired.rate.push(got.get(s)!.rps / got.get(ref)!.rps);
      paired.cpu.push(got.get(ref)!.cpuUs / got.get(s)!.cpuUs);
      process.stderr.write(':');
    }
    pairs.set(s.name, paired);
  }
  process.stderr.write('\n');
  return pairs;
}

function report(
  kind: string,
  rows: Row[],
  pairs: Map<string, Paired>,
  rss: { idleAtStart: number; idleAfterSetup: number; peak: number; setupSeconds: number },
) {
  const fmt = (n: number, d = 0) => (Number.isNaN(n) ? '—' : n.toFixed(d));
  const med = (samples: Sample[], k: keyof Sample) => median(samples.map((s) => s[k]));
  console.log(
    `\n## ${kind === 'pglite' ? 'embedded PGlite' : 'PostgreSQL'}: wrk -t${THREADS} -c${CONNECTIONS} -d${DURATION}, ${ROUNDS} interleaved rounds, medians, access logs ${ACCESS_LOG ? 'on (both to files)' : 'off'}\n`,
  );
  const withBase = rows.some((r) => r.baseline.length > 0);
  console.log(
    `| request | server req/s | server p99 ms | nginx req/s | nginx p99 ms | server/nginx | p99 ÷ nginx p99 | CPU µs/req server / nginx |${withBase ? ' baseline req/s | server/baseline | baseline CPU µs/req |' : ''}`,
  );
  console.log(`|---|---:|---:|---:|---:|---:|---:|---:|${withBase ? '---:|---:|---:|' : ''}`);
  const rate = new Map<string, number>();
  for (const row of rows) {
    const s = med(row.server, 'rps');
    const n = med(row.nginx, 'rps');
    rate.set(row.scenario.name, s);
    const nginxCell = row.scenario.status === 200 ? fmt(n) : `(${fmt(n)}, nginx 404)`;
    console.log(
      `| ${row.scenario.name} | ${fmt(s)} | ${fmt(med(row.server, 'p99ms'), 1)} | ${nginxCell} | ${fmt(med(row.nginx, 'p99ms'), 1)} | ${fmt(s / n, 3)} | ${fmt(med(row.server, 'p99ms') / med(row.nginx, 'p99ms'), 1)} | ${fmt(med(row.server, 'cpuUs'), 1)} / ${fmt(med(row.nginx, 'cpuUs'), 1)} |${withBase ? ` ${fmt(med(row.baseline, 'rps'))} | ${fmt(s / med(row.baseline, 'rps'), 3)} | ${fmt(med(row.baseline, 'cpuUs'), 1)} |` : ''}`,
    );
  }
  console.log(
    '\n| ratio the issue names | asked | paired rounds: rate, median (range) | paired: CPU per request, reference ÷ this | table rows above |',
  );
  console.log('|---|---:|---:|---:|---:|');
  for (const row of rows) {
    const vs = row.scenario.vs;
    if (!vs || !rate.has(vs.name)) continue;
    const p = pairs.get(row.scenario.name);
    const spread = (xs: number[]) => `${fmt(median(xs), 2)} (${fmt(Math.min(...xs), 2)}–${fmt(Math.max(...xs), 2)})`;
    console.log(
      `| ${row.scenario.name} ÷ ${vs.name} | ≥ ${vs.want} | ${p ? spread(p.rate) : '—'} | ${p ? spread(p.cpu) : '—'} | ${fmt(rate.get(row.scenario.name)! / rate.get(vs.name)!, 2)} |`,
    );
  }
  console.log(
    `\nserver RSS: ${fmt(rss.idleAtStart)} MiB idle after start, ${fmt(rss.idleAfterSetup)} MiB idle after set-up (${MANY + 3} uploads in ${fmt(rss.setupSeconds, 1)} s), ${fmt(rss.peak)} MiB after the load`,
  );
}

for (const kind of kinds) await runKind(kind);
