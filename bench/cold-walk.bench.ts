/**
 * Cold walks of real module graphs: `go mod download` of a module that requires one root (its go.mod and
 * go.sum made once, direct, beforehand), with an empty module cache, through a proxy repository that has
 * never seen the graph, against the same command talking to the real upstream (`go env GOPROXY`) directly.
 * Direct and proxied runs alternate (the order flips each round); each proxied run gets a new proxy
 * repository, so every file is a fill (blobs are content-addressed, so a zip stored in an earlier round is
 * still fetched, checked and staged, only its final rename lands on the same bytes).
 *
 *   bun bench/cold-walk.bench.ts [--postgres] [--baseline=DIR] [rounds=3] [root@version ...]
 *
 * --baseline=DIR also starts the server of another checkout (a `git worktree` with its node_modules) and
 * walks each graph through it in the same rounds, beside this one's: a change is compared with the code
 * before it under the same load and the same upstream.
 *
 * Prints, per root, the median of each side and their ratio, then the geometric mean of the ratios (the
 * issue's target: ≤ 1.3×); per module (each module version of every graph), the time the go command spent
 * on its own requests (`go mod download -x` times every GET it makes: its .info, .mod and .zip summed), the
 * median of each side over the rounds and the geometric mean of those ratios; the load average, and where the server's time went during the proxied runs
 * (sums over requests from /metrics: they overlap, so they tell proportions, not wall time). The server
 * runs as its own process (`bun run src/index.ts`, PGlite, or with --postgres a throwaway database on
 * ORBITREPO_TEST_DATABASE_URL or the local server; filesystem storage, the checksum database as the go
 * command's default). Skips, loudly, when the upstream cannot be reached.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_AUTH } from '../test/support/app';
import { createTestDatabaseUrl } from '../test/support/db';
import { liveUpstream, makeGoEnv, runGo } from '../test/support/go';
import { startServerProcess } from '../test/support/server';

const DEFAULT_ROOTS = [
  'github.com/spf13/cobra@v1.10.2',
  'github.com/sirupsen/logrus@v1.10.2',
  'github.com/stretchr/testify@v1.12.1',
  'go.uber.org/zap@v1.28.0',
  'github.com/rs/zerolog@v1.35.1',
  'github.com/labstack/echo/v4@v4.16.5',
  'github.com/gin-gonic/gin@v1.12.0',
  'github.com/prometheus/client_golang@v1.25.0',
];
const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const rounds = Number(positional[0] ?? 3);
const roots = positional.length > 1 ? positional.slice(1) : DEFAULT_ROOTS;
const GO_TIMEOUT = 420_000;
const onPostgres = process.argv.includes('--postgres');
const baselineRoot = process.argv.find((a) => a.startsWith('--baseline='))?.slice('--baseline='.length);

const live = await liveUpstream();
if ('skip' in live) {
  console.warn(`SKIPPED cold-walk bench: ${live.skip}`);
  process.exit(0);
}
const { url: upstream, sumdb } = live;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const geomean = (xs: number[]) => Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);

const work = await mkdtemp(join(tmpdir(), 'orbit-coldwalk-'));

/** go.mod and go.sum of a module requiring root, resolved direct once: every later run downloads exactly that graph. */
async function prepare(root: string): Promise<{ dir: string; modules: number }> {
  const dir = join(work, root.replace(/[^A-Za-z0-9.-]+/g, '_'));
  const e = await makeGoEnv({ goproxy: upstream, gosumdb: sumdb, goflags: '-modcacherw' });
  try {
    await Bun.write(join(dir, 'go.mod'), 'module bench.example/walk\n\ngo 1.21\n');
    const got = await runGo(['get', root], { env: e.env, cwd: dir, timeoutMs: GO_TIMEOUT });
    if (got.code !== 0) throw new Error(`go get ${root} direct failed: ${got.stderr}`);
    const graph = await runGo(['list', '-m', 'all'], { env: e.env, cwd: dir, timeoutMs: GO_TIMEOUT });
    return { dir, modules: graph.stdout.trim().split('\n').length - 1 };
  } finally {
    await e.cleanup();
  }
}

/**
 * Seconds for `go mod download` of the prepared graph with an empty module cache, through goproxy, and the
 * seconds the go command's requests for each module version took (summed; from -x's `# get URL: 200 OK (Ns)`).
 */
async function walk(dir: string, goproxy: string): Promise<{ seconds: number; perModule: Map<string, number> }> {
  const e = await makeGoEnv({ goproxy, gosumdb: sumdb, goflags: '-modcacherw' });
  try {
    await cp(dir, e.work, { recursive: true });
    const started = performance.now();
    const r = await runGo(['mod', 'download', '-x'], { env: e.env, cwd: e.work, timeoutMs: GO_TIMEOUT });
    const seconds = (performance.now() - started) / 1000;
    if (r.code !== 0) throw new Error(`go mod download through ${goproxy} failed: ${r.stderr}`);
    const perModule = new Map<string, number>();
    const base = new URL(goproxy).pathname.replace(/\/?$/, '/');
    for (const m of r.stderr.matchAll(/^# get (\S+): \d{3}[^(\n]*\(([\d.]+)s\)$/gm)) {
      const path = new URL(m[1]).pathname;
      // {base}{escaped module}/@v/{version}.{info,mod,zip}: the module version, whichever side served it.
      const file = path.startsWith(base) ? /^(.+)\/@v\/([^/]+)\.(?:info|mod|zip)$/.exec(path.slice(base.length)) : null;
      if (!file) continue;
      const key = `${file[1]}@${file[2]}`;
      perModule.set(key, (perModule.get(key) ?? 0) + Number(m[2]));
    }
    return { seconds, perModule };
  } finally {
    await e.cleanup();
  }
}

/** Sums (and counts) of the server's duration histograms, from /metrics: where its time went. */
const WATCHED = [
  'orbitrepos_http_request_duration_seconds',
  'orbitrepos_upstream_request_duration_seconds',
  'orbitrepos_fill_duration_seconds',
  'orbitrepos_db_query_duration_seconds',
  'orbitrepos_storage_operation_duration_seconds',
];
async function histogramSums(url: string): Promise<Map<string, { sum: number; count: number }>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map(WATCHED.map((n) => [n, { sum: 0, count: 0 }]));
  for (const line of text.split('\n')) {
    const m = /^(\w+)_(sum|count)(?:\{[^}]*\})? ([0-9.eE+-]+)$/.exec(line);
    const entry = m && out.get(m[1]);
    if (entry) entry[m[2] as 'sum' | 'count'] += Number(m[3]);
  }
  return out;
}

console.log(
  `cold walk: ${roots.length} roots, ${rounds} rounds, ${onPostgres ? 'PostgreSQL' : 'PGlite'}, upstream from go env GOPROXY; load average ${load()}`,
);
const graphs = [];
for (const root of roots) graphs.push({ root, ...(await prepare(root)) });
// The local PostgreSQL the tests use when nothing else is named (trust auth).
process.env.ORBITREPO_TEST_DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/test';
const postgres = onPostgres ? await createTestDatabaseUrl() : undefined;
const postgresBaseline = onPostgres && baselineRoot ? await createTestDatabaseUrl() : undefined;
const server = await startServerProcess(
  { ORBITREPO_DATA_DIR: join(work, 'data'), ...(postgres ? { ORBITREPO_DATABASE_URL: postgres.url } : {}) },
  { startTimeoutMs: 300_000 },
);
const baseline = baselineRoot
  ? await startServerProcess(
      { ORBITREPO_DATA_DIR: join(work, 'data-baseline'), ...(postgresBaseline ? { ORBITREPO_DATABASE_URL: postgresBaseline.url } : {}) },
      { startTimeoutMs: 300_000, root: baselineRoot },
    )
  : undefined;
const spent = new Map(WATCHED.map((n) => [n, { sum: 0, count: 0 }]));
let repoCount = 0;
try {
  const times = graphs.map(() => ({ direct: [] as number[], proxied: [] as number[], baseline: [] as number[] }));
  /** Per side, per module version: its requests' seconds in each round. */
  const modules = { direct: new Map<string, number[]>(), proxied: new Map<string, number[]>(), baseline: new Map<string, number[]>() };
  const timed = async (side: keyof typeof modules, dir: string, goproxy: string) => {
    const { seconds, perModule } = await walk(dir, goproxy);
    for (const [key, s] of perModule) (modules[side].get(key) ?? modules[side].set(key, []).get(key)!).push(s);
    return seconds;
  };
  for (let round = 0; round < rounds; round++) {
    for (const [i, g] of graphs.entries()) {
      const name = `walk-${++repoCount}`;
      for (const s of baseline ? [server, baseline] : [server]) {
        const created = await fetch(`${s.url}/api/v1/repositories`, {
          method: 'POST',
          headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
          body: JSON.stringify({ name, type: 'proxy', remoteUrl: upstream, anonymousRead: true }),
        });
        if (created.status !== 201) throw new Error(`creating ${name}: ${created.status} ${await created.text()}`);
      }
      const proxied = async () => {
        const before = await histogramSums(server.url);
        times[i].proxied.push(await timed('proxied', g.dir, `${server.url}/go/${name}/`));
        const after = await histogramSums(server.url);
        for (const [n, v] of after) {
          const s = spent.get(n)!;
          s.sum += v.sum - before.get(n)!.sum;
          s.count += v.count - before.get(n)!.count;
        }
      };
      const direct = async () => {
        times[i].direct.push(await timed('direct', g.dir, upstream));
      };
      const before = async () => {
        if (baseline) times[i].baseline.push(await timed('baseline', g.dir, `${baseline.url}/go/${name}/`));
      };
      // The order turns every round and every root, so no side always runs first.
      const sides = [direct, proxied, before];
      for (let k = 0; k < sides.length; k++) await sides[(round + i + k) % sides.length]();
    }
  }
  const ratios: number[] = [];
  const baseRatios: number[] = [];
  const all = (xs: number[]) => xs.map((t) => t.toFixed(1)).join('/');
  for (const [i, g] of graphs.entries()) {
    const d = median(times[i].direct);
    const p = median(times[i].proxied);
    ratios.push(p / d);
    const b = baseline ? median(times[i].baseline) : 0;
    if (baseline) baseRatios.push(b / d);
    const was = baseline ? `  baseline ${b.toFixed(2)} s ${(b / d).toFixed(2)}×` : '';
    console.log(
      `${g.root.padEnd(44)} ${String(g.modules).padStart(3)} modules  direct ${d.toFixed(2)} s  proxied ${p.toFixed(2)} s  ${(p / d).toFixed(2)}×${was}  (direct ${all(times[i].direct)}, proxied ${all(times[i].proxied)}${baseline ? `, baseline ${all(times[i].baseline)}` : ''})`,
    );
  }
  console.log(`geometric mean proxied/direct: ${geomean(ratios).toFixed(2)}× (target ≤ 1.3×); load average ${load()}`);
  if (baseline) console.log(`geometric mean baseline/direct: ${geomean(baseRatios).toFixed(2)}×`);
  // Per module version: a module in two graphs counts once per round it was downloaded in.
  for (const side of baseline ? (['proxied', 'baseline'] as const) : (['proxied'] as const)) {
    const perModule: number[] = [];
    for (const [key, d] of modules.direct) {
      const p = modules[side].get(key);
      if (p) perModule.push(median(p) / median(d));
    }
    const sorted = [...perModule].sort((a, b) => a - b);
    console.log(
      `per module, ${side}/direct: geometric mean ${geomean(perModule).toFixed(2)}× over ${perModule.length} module versions (median ${median(sorted).toFixed(2)}×, 90th percentile ${sorted[Math.floor(sorted.length * 0.9)].toFixed(2)}×)`,
    );
  }
  console.log('server time during the proxied runs (summed over concurrent requests):');
  for (const [n, v] of spent)
    console.log(`  ${n.replace('orbitrepos_', '').padEnd(40)} ${v.sum.toFixed(1).padStart(8)} s over ${v.count} observations`);
} finally {
  await server.stop();
  await baseline?.stop();
  await postgres?.drop();
  await postgresBaseline?.drop();
  await rm(work, { recursive: true, force: true });
}
