/**
 * Fault injection under load: a server process on PostgreSQL and S3 (s3rver), each reached
 * through a loopback TCP proxy that this script freezes (bytes held: a SIGSTOP'd server) or cuts
 * (connections closed: a stopped one), while clients list, download and publish. Loopback only,
 * bounded (a few seconds per phase), never touches the machine's shared PostgreSQL server itself.
 *
 *   bun bench/faults.bench.ts [clients=8] [phaseSeconds=6] [timeoutMs=2000]
 *
 * Per phase: requests tried, answered correctly (2xx while nothing is broken; 503 with Retry-After,
 * within the timeout and a margin, while a dependency is down, or for a list while the database is down a 200 from
 * memory naming exactly the acknowledged versions; S3 frozen: reads within 35 s, uploads within the write deadline plus the staged copy's cleanup), answered wrongly (a 4xx, a 500, a
 * 503 without Retry-After, or too late), and the time to answer. At the end, lost = publishes that
 * were acknowledged (201) but whose version or audit entry is missing: must be 0.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { ADMIN_AUTH } from '../test/support/app';
import { createTestDatabaseUrl } from '../test/support/db';
import { startS3rver } from '../test/support/s3rver';
import { startServerProcess } from '../test/support/server';
import { startTcpProxy } from '../test/support/tcp-proxy';
import { buildModuleZip } from '../test/support/zipbuild';

const args = process.argv.slice(2);
const clients = Number(args[0] ?? 8);
const phaseMs = Number(args[1] ?? 6) * 1000;
const timeoutMs = Number(args[2] ?? 2000);
/** Connect or statement deadline, plus the client-side slack, plus answering: anything slower is counted wrong. */
const boundMs = timeoutMs * 2 + 1000 + 2000;
const MOD = 'example.com/bench/faults';

if (!process.env.ORBITREPO_TEST_DATABASE_URL) {
  console.error('needs PostgreSQL: set ORBITREPO_TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test)');
  process.exit(2);
}

const work = await mkdtemp(join(tmpdir(), 'orbit-faults-'));
const database = await createTestDatabaseUrl();
const s3 = await startS3rver();
const realDb = new URL(database.url);
const dbProxy = startTcpProxy({ hostname: realDb.hostname, port: Number(realDb.port || 5432) });
const s3Url = new URL(s3.endpoint);
const s3Proxy = startTcpProxy({ hostname: s3Url.hostname, port: Number(s3Url.port) });
const proxiedDb = new URL(database.url);
proxiedDb.hostname = '127.0.0.1';
proxiedDb.port = String(dbProxy.port);

const server = await startServerProcess({
  ORBITREPO_DATA_DIR: join(work, 'data'),
  ORBITREPO_DATABASE_URL: proxiedDb.toString(),
  ORBITREPO_DB_CONNECT_TIMEOUT_MS: String(timeoutMs),
  ORBITREPO_DB_STATEMENT_TIMEOUT_MS: String(timeoutMs),
  ORBITREPO_STORAGE_TYPE: 's3',
  ORBITREPO_S3_BUCKET: s3.bucket,
  ORBITREPO_S3_ENDPOINT: `http://127.0.0.1:${s3Proxy.port}`,
  ORBITREPO_S3_ACCESS_KEY_ID: s3.accessKeyId,
  ORBITREPO_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
  ORBITREPO_S3_FORCE_PATH_STYLE: 'true',
  ORBITREPO_S3_WRITE_TIMEOUT_MS: String(timeoutMs),
});

const admin = { authorization: ADMIN_AUTH };
let nextVersion = 0;
const acknowledged: string[] = [];

async function setUp() {
  const res = await fetch(`${server.url}/api/v1/repositories`, {
    method: 'POST',
    headers: { ...admin, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'faults', type: 'hosted', anonymousRead: true }),
  });
  if (res.status !== 201) throw new Error(`could not create the repository: ${res.status} ${await res.text()}`);
  if ((await publish()).status !== 201) throw new Error('could not publish the first version');
}

function publish(): Promise<Response> {
  const version = `v0.0.${nextVersion++}`;
  const zip = buildModuleZip(MOD, version, { 'go.mod': `module ${MOD}\n`, 'a.go': `package faults\n// ${version}\n` });
  return fetch(`${server.url}/go/faults/${MOD}/@v/${version}.zip`, { method: 'PUT', headers: admin, body: zip }).then((res) => {
    if (res.status === 201) acknowledged.push(version);
    return res;
  });
}

const kinds = {
  list: () => fetch(`${server.url}/go/faults/${MOD}/@v/list`),
  zip: () => fetch(`${server.url}/go/faults/${MOD}/@v/v0.0.0.zip`),
  publish,
};
type Kind = keyof typeof kinds;

interface Tally {
  tried: number;
  correct: number;
  wrong: Map<string, number>;
  ms: number[];
}

/**
 * A list answered 200 from the server's memory while the database is down is right when it names exactly the
 * acknowledged versions (nothing can be published meanwhile, so the remembered list is still the whole truth).
 */
function completeList(body: string): boolean {
  const listed = body.split('\n').filter(Boolean).sort();
  const want = [...acknowledged].sort();
  return listed.length === want.length && listed.every((v, i) => v === want[i]);
}

/** `clients` loops of mixed requests for phaseMs; `down` says a dependency is broken, so 503 + Retry-After is the right answer. */
async function phase(name: string, down: boolean, needs: Kind[], bound = boundMs): Promise<Tally & { name: string }> {
  const tally: Tally = { tried: 0, correct: 0, wrong: new Map(), ms: [] };
  const until = performance.now() + phaseMs;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = c; performance.now() < until; i++) {
        const kind = needs[i % needs.length];
        const started = performance.now();
        let verdict: string;
        try {
          const res = await kinds[kind]();
          const body = await res.text();
          if (!down && res.status >= 500) tally.wrong.set(`  ${kind}: ${body.trim().slice(0, 160)}`, 0);
          const ms = performance.now() - started;
          tally.ms.push(ms);
          const ok = down
            ? (res.status === 503 && !!res.headers.get('retry-after') && ms < bound) ||
              (kind === 'list' && res.status === 200 && completeList(body))
            : res.status < 300;
          verdict = ok ? 'ok' : `${kind} ${res.status}${ms >= bound ? ' late' : ''}`;
        } catch (err) {
          verdict = `${kind} ${(err as Error).message}`;
        }
        tally.tried++;
        if (verdict === 'ok') tally.correct++;
        else tally.wrong.set(verdict, (tally.wrong.get(verdict) ?? 0) + 1);
      }
    }),
  );
  return { name, ...tally };
}

/** Time from the dependency's return to the first 2xx of `kind`. */
async function recovery(kind: Kind): Promise<number> {
  const started = performance.now();
  for (;;) {
    const res = await kinds[kind]();
    await res.arrayBuffer();
    if (res.status < 300) return performance.now() - started;
    if (performance.now() - started > 60_000) return Number.POSITIVE_INFINITY;
    await Bun.sleep(100);
  }
}

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

const results: (Tally & { name: string; recoveryMs?: number })[] = [];
try {
  await setUp();
  const all: Kind[] = ['list', 'zip', 'publish'];
  results.push(await phase('baseline', false, all));

  dbProxy.freeze();
  results.push(await phase('PostgreSQL frozen', true, ['list', 'publish']));
  dbProxy.restore();
  results[results.length - 1].recoveryMs = await recovery('list');

  dbProxy.cut();
  results.push(await phase('PostgreSQL cut', true, ['list', 'publish']));
  dbProxy.restore();
  results[results.length - 1].recoveryMs = await recovery('list');

  s3Proxy.cut();
  results.push(await phase('S3 cut', true, ['zip', 'publish']));
  s3Proxy.restore();
  results[results.length - 1].recoveryMs = await recovery('zip');

  // A frozen S3 costs a read three 10 s request timeouts (the SDK retries).
  s3Proxy.freeze();
  results.push(await phase('S3 frozen (reads)', true, ['zip'], 3 * 10_000 + 5_000));
  s3Proxy.restore();
  results[results.length - 1].recoveryMs = await recovery('zip');

  // Uploads: one write deadline (ORBITREPO_S3_WRITE_TIMEOUT_MS = timeoutMs), then the staged copy's delete (quick requests).
  s3Proxy.freeze();
  results.push(await phase('S3 frozen (uploads)', true, ['publish'], timeoutMs + 3 * 10_000 + 5_000));
  s3Proxy.restore();
  results[results.length - 1].recoveryMs = await recovery('publish');

  results.push(await phase('after', false, all));

  // Lost: acknowledged publishes whose version is not listed or whose audit entry is missing.
  const listed = new Set((await (await kinds.list()).text()).split('\n').filter(Boolean));
  const sql = postgres(database.url, { max: 1, onnotice: () => {} });
  const audited = new Set(
    (await sql`select target from audit_log where action = 'module.publish'`).map((r) => String(r.target).split('@')[1]),
  );
  await sql.end();
  const lostVersions = acknowledged.filter((v) => !listed.has(v)).length;
  const lostAudit = acknowledged.filter((v) => !audited.has(v)).length;

  console.log(
    `\nfaults bench: ${clients} clients, ${phaseMs / 1000} s per phase, database timeouts ${timeoutMs} ms, answer bound ${boundMs} ms`,
  );
  console.log('phase                 tried  correct  wrong   p50 ms   p95 ms   max ms   recovery ms  wrong answers');
  for (const r of results) {
    const wrong = r.tried - r.correct;
    const detail = [...r.wrong].map(([k, n]) => (n ? `${k} x${n}` : `\n${k}`)).join(', ');
    console.log(
      `${r.name.padEnd(20)} ${String(r.tried).padStart(6)} ${String(r.correct).padStart(8)} ${String(wrong).padStart(6)} ${pct(r.ms, 50).toFixed(0).padStart(8)} ${pct(r.ms, 95).toFixed(0).padStart(8)} ${Math.max(
        0,
        ...r.ms,
      )
        .toFixed(0)
        .padStart(8)} ${r.recoveryMs === undefined ? '           -' : r.recoveryMs.toFixed(0).padStart(12)}  ${detail}`,
    );
  }
  console.log(`publishes acknowledged: ${acknowledged.length}; lost versions: ${lostVersions}; lost audit entries: ${lostAudit}`);
  if (lostVersions + lostAudit > 0) process.exitCode = 1;
} finally {
  await server.stop();
  dbProxy.stop();
  s3Proxy.stop();
  await s3.stop();
  await database.drop();
  await rm(work, { recursive: true, force: true });
}
