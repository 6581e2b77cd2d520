/**
 * Soak: one server process under mixed concurrent traffic for a bounded time, loopback only. Clients
 * publish new versions, read back what was acknowledged, and mix in bad-credential probes, path attacks
 * and invalid module zips (the attack corpus's own, test/fixtures/attack-probes.ts, judged the same way).
 *
 *   bun bench/soak.bench.ts [--duration=60s] [--clients=16] [--postgres]
 *
 * The server is `bun run src/index.ts` on a throwaway data dir: embedded PGlite by default, with
 * --postgres a throwaway database on ORBITREPO_TEST_DATABASE_URL (or the local server); filesystem storage.
 * At the end every acknowledged publish (201) is read back: its zip must have the same bytes and its
 * version must be listed (lost = acknowledged but missing or different), and no refused zip may be served.
 * Prints tried / correct / wrong / lost per kind (correct: answered as it should, a refusal with the right
 * status for the hostile kinds), the server's RSS at start and end, and the load average; exits 1 when
 * anything was lost or answered wrongly.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  badCredentials,
  judgeBadZipUpload,
  judgeProbe,
  type Probe,
  pathAttacks,
  servedAfterRefusal,
  type Verdict,
  withAftermath,
} from '../test/fixtures/attack-probes';
import { invalidZipCorpus } from '../test/fixtures/invalid-module-zips';
import { ADMIN_AUTH, basic } from '../test/support/app';
import { createTestDatabaseUrl } from '../test/support/db';
import { startServerProcess } from '../test/support/server';
import { buildModuleZip } from '../test/support/zipbuild';
import { benchArgs } from './support/args';

const args = benchArgs();

function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text);
  if (!m) throw new Error(`--duration: ${text} is not a duration (60s, 2m, 500ms)`);
  return Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000);
}

const DURATION_MS = parseDuration(args.get('duration') ?? '60s');
const CLIENTS = Number(args.get('clients') ?? 16);
const POSTGRES = args.has('postgres');
/** No request may take longer than this; one that does is counted wrong (a hang is a failure, not a wait). */
const REQUEST_TIMEOUT_MS = 60_000;
if (POSTGRES) process.env.ORBITREPO_TEST_DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/test';

const REPO = 'soak';
const OPEN_REPO = 'open';
/** The corpus's path attacks are written for this module in an anonymous-read repository. */
const OPEN_MOD = 'example.com/open';
const MODULES = Array.from({ length: 4 }, (_, i) => `example.com/soak/m${i}`);
/** In the private repository's go.mod files: an answer to a hostile request that holds it let the request through. */
const MARKER = 'SOAK-PRIVATE-MARKER';
const SECRETS = [MARKER, 'root:'];
const MiB = 1024 * 1024;

const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

const database = POSTGRES ? await createTestDatabaseUrl() : undefined;
const server = await startServerProcess(database ? { ORBITREPO_DATABASE_URL: database.url } : {}, { startTimeoutMs: 300_000 });

function send(path: string, init: RequestInit & { auth?: string | null } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.auth) headers.set('authorization', init.auth);
  return fetch(`${server.url}${path}`, { ...init, headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
}

async function api(method: string, path: string, body: unknown, auth = ADMIN_AUTH): Promise<any> {
  const res = await send(`/api/v1${path}`, {
    method,
    auth,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`set-up: ${method} ${path} answered ${res.status} ${await res.text()}`);
  return res.json();
}

interface Published {
  module: string;
  version: string;
  sha256: string;
  goMod: string;
}

const acknowledged: Published[] = [];
let nextVersion = 0;

/** A new version of one of MODULES: a few KiB of incompressible content, every 25th 4 MiB (a multi-chunk upload). */
function makeVersion(): { published: Published; zip: Uint8Array<ArrayBuffer> } {
  const n = nextVersion++;
  const module = MODULES[n % MODULES.length];
  const version = `v0.${n}.0`;
  const goMod = `module ${module}\n\n// ${MARKER}\n`;
  const size = n % 25 === 24 ? 4 * MiB : 1024 + ((n * 7919) % (32 * 1024));
  const payload = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(payload.subarray(i, Math.min(size, i + 65536)));
  const zip = buildModuleZip(module, version, { 'go.mod': goMod, 'a.go': `package m\n// ${version}\n`, 'blob.bin': payload });
  return { published: { module, version, sha256: sha256(zip), goMod }, zip };
}

const kinds = ['publish', 'read', 'bad credentials', 'path attack', 'bad zip'] as const;
type Kind = (typeof kinds)[number];
interface Tally {
  tried: number;
  correct: number;
  lost: number;
  wrong: Map<string, number>;
}
const tallies = new Map<Kind, Tally>(kinds.map((k) => [k, { tried: 0, correct: 0, lost: 0, wrong: new Map() }]));

function count(kind: Kind, verdict: Verdict | { kind: 'ok' }): void {
  const t = tallies.get(kind)!;
  t.tried++;
  if (verdict.kind === 'ok' || verdict.kind === 'refused') t.correct++;
  else {
    if (verdict.kind === 'lost') t.lost++;
    // Reasons are grouped: the first 100 characters, without the numbers that differ per request.
    const why = verdict.why.slice(0, 100).replace(/v0\.\d+\.0/g, 'v0.N.0');
    t.wrong.set(why, (t.wrong.get(why) ?? 0) + 1);
  }
}

async function setUp(): Promise<{ adminToken: string; readerToken: string }> {
  await api('POST', '/repositories', { name: REPO, type: 'hosted' });
  await api('POST', '/repositories', { name: OPEN_REPO, type: 'hosted', anonymousRead: true });
  await api('POST', '/users', { username: 'reader', password: 'reader-password' });
  await api('POST', '/users', { username: 'nogrant', password: 'nogrant-password' });
  await api('PUT', `/repositories/${REPO}/permissions/reader`, { role: 'read' });
  // Good traffic signs in with tokens: the probes' guessing slows passwords from this address, never tokens.
  const { token: adminToken } = await api('POST', '/tokens', { name: 'soak-admin' });
  const { token: readerToken } = await api('POST', '/tokens', { name: 'soak-reader' }, basic('reader', 'reader-password'));
  const open = buildModuleZip(OPEN_MOD, 'v1.0.0', { 'go.mod': `module ${OPEN_MOD}\n`, 'open.go': 'package open\n' });
  const res = await send(`/go/${OPEN_REPO}/${OPEN_MOD}/@v/v1.0.0.zip`, { method: 'PUT', body: open, auth: basic('admin', adminToken) });
  if (res.status !== 201) throw new Error(`set-up: the open module answered ${res.status} ${await res.text()}`);
  return { adminToken, readerToken };
}

const { adminToken, readerToken } = await setUp();
const publisher = basic('admin', adminToken);
const reader = basic('reader', readerToken);
const badZips = invalidZipCorpus();

async function publish(): Promise<Verdict | { kind: 'ok' }> {
  const { published, zip } = makeVersion();
  const res = await send(`/go/${REPO}/${published.module}/@v/${published.version}.zip`, { method: 'PUT', body: zip, auth: publisher });
  const text = await res.text();
  if (res.status !== 201) return { kind: 'wrong', why: `publish ${res.status} ${text.trim()}` };
  acknowledged.push(published);
  return { kind: 'ok' };
}

/** Reads back something acknowledged, a different file each time: the zip's bytes, go.mod, .info, the list. */
async function read(i: number): Promise<Verdict | { kind: 'ok' }> {
  if (acknowledged.length === 0) return { kind: 'ok' };
  const p = acknowledged[Math.floor(Math.random() * acknowledged.length)];
  const base = `/go/${REPO}/${p.module}/@v/`;
  const which = (['zip', 'mod', 'info', 'list'] as const)[i % 4];
  const res = await send(which === 'list' ? `${base}list` : `${base}${p.version}.${which}`, { auth: reader });
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (res.status === 404 || res.status === 410) return { kind: 'lost', why: `LOST ${which} of ${p.module}@${p.version}: ${res.status}` };
  if (res.status !== 200) return { kind: 'wrong', why: `read ${which} ${res.status} ${new TextDecoder().decode(bytes.slice(0, 100))}` };
  const text = () => new TextDecoder().decode(bytes);
  const same =
    which === 'zip'
      ? sha256(bytes) === p.sha256
      : which === 'mod'
        ? text() === p.goMod
        : which === 'info'
          ? JSON.parse(text()).Version === p.version
          : text().split('\n').includes(p.version);
  return same ? { kind: 'ok' } : { kind: 'lost', why: `LOST ${which} of ${p.module}@${p.version}: different` };
}

const credentialProbes: Probe[] = badCredentials(
  { username: 'reader', password: 'reader-password', token: readerToken },
  { username: 'nogrant', password: 'nogrant-password' },
).flatMap(([name, auth, refused]) =>
  [`/go/${REPO}/${MODULES[0]}/@v/list`, `/go/${REPO}/${MODULES[0]}/@v/v0.0.0.mod`, `/go/${REPO}/${MODULES[1]}/@latest`].map((path) => ({
    name: `${name}: GET ${path}`,
    path,
    auth,
    refused,
  })),
);
const pathProbes = pathAttacks(OPEN_REPO, OPEN_MOD);

async function probe(p: Probe): Promise<Verdict> {
  let request: Request;
  try {
    request = new Request(`${server.url}${p.path}`, { method: p.method ?? 'GET', headers: p.headers, body: p.body });
  } catch {
    // As in the corpus: a URL the Request constructor refuses is never sent.
    return { kind: 'refused' };
  }
  if (p.auth) request.headers.set('authorization', p.auth);
  const res = await fetch(request, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  return judgeProbe(p, res.status, res.headers.get('retry-after'), await res.text(), SECRETS);
}

async function badZip(i: number): Promise<Verdict> {
  const c = badZips[i % badZips.length];
  const res = await send(`/go/${REPO}/${c.module}/@v/${c.version}.zip`, {
    method: 'PUT',
    body: c.zip as Uint8Array<ArrayBuffer>,
    auth: publisher,
  });
  return judgeBadZipUpload(c, res.status, await res.text());
}

/** Per client, in turn: half reads, a fifth publishes, a tenth each of the hostile kinds. */
const SCHEDULE: Kind[] = ['read', 'publish', 'read', 'bad credentials', 'read', 'path attack', 'read', 'bad zip', 'read', 'publish'];

async function client(c: number, until: number): Promise<void> {
  for (let i = c; performance.now() < until; i++) {
    const kind = SCHEDULE[i % SCHEDULE.length];
    const n = Math.floor(i / SCHEDULE.length);
    try {
      if (kind === 'publish') count(kind, await publish());
      else if (kind === 'read') count(kind, await read(i));
      else if (kind === 'bad credentials') count(kind, await probe(credentialProbes[(n * 7 + c) % credentialProbes.length]));
      else if (kind === 'path attack') count(kind, await probe(pathProbes[(n * 5 + c) % pathProbes.length]));
      else count(kind, await badZip(n * 3 + c));
    } catch (err) {
      count(kind, { kind: 'wrong', why: `${kind}: ${(err as Error).name} ${(err as Error).message}` });
    }
  }
}

/** Every acknowledged publish, read back at the end: listed, and its zip byte for byte. */
async function finalCheck(): Promise<{ checked: number; lost: string[]; wrong: string[] }> {
  const lost: string[] = [];
  const wrong: string[] = [];
  for (const module of MODULES) {
    const res = await send(`/go/${REPO}/${module}/@v/list`, { auth: reader });
    const listed = new Set((await res.text()).split('\n'));
    if (res.status !== 200) wrong.push(`list of ${module}: ${res.status}`);
    for (const p of acknowledged) if (p.module === module && !listed.has(p.version)) lost.push(`${p.module}@${p.version} not listed`);
  }
  for (const p of acknowledged) {
    const res = await send(`/go/${REPO}/${p.module}/@v/${p.version}.zip`, { auth: reader });
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (res.status === 404 || res.status === 410) lost.push(`${p.module}@${p.version}: zip ${res.status}`);
    else if (res.status !== 200) wrong.push(`${p.module}@${p.version}: zip ${res.status}`);
    else if (sha256(bytes) !== p.sha256) lost.push(`${p.module}@${p.version}: zip bytes differ`);
  }
  // Refused zips: nothing of them served afterwards.
  for (const c of badZips) {
    const after = await servedAfterRefusal((path) => send(path, { auth: publisher }), `/go/${REPO}/${c.module}/@v/`, c.version);
    const verdict = withAftermath(c, { kind: 'refused' }, after);
    if (verdict.kind === 'lost') lost.push(verdict.why);
    else if (verdict.kind === 'wrong') wrong.push(verdict.why);
  }
  return { checked: acknowledged.length, lost, wrong };
}

let failed = false;
try {
  const loadAtStart = loadavg();
  const rssAtStart = server.rssBytes();
  let rssPeak = rssAtStart;
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, server.rssBytes());
  }, 1000);
  const started = performance.now();
  await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c, started + DURATION_MS)));
  const elapsedS = (performance.now() - started) / 1000;
  clearInterval(sampler);
  const rssAtEnd = server.rssBytes();
  const loadAtEnd = loadavg();
  const final = await finalCheck();

  const mib = (b: number) => `${(b / MiB).toFixed(0)} MiB`;
  console.log(
    `\nsoak: ${elapsedS.toFixed(0)} s, ${CLIENTS} clients, ${POSTGRES ? 'PostgreSQL' : 'PGlite'}, filesystem storage; load average at start ${loadAtStart}, at end ${loadAtEnd}`,
  );
  console.log('kind              tried  correct  wrong   lost   req/s   (correct: for the hostile kinds, refused with the right status)');
  for (const [kind, t] of tallies) {
    const wrong = t.tried - t.correct - t.lost;
    console.log(
      `${kind.padEnd(16)} ${String(t.tried).padStart(6)} ${String(t.correct).padStart(8)} ${String(wrong).padStart(6)} ${String(t.lost).padStart(6)} ${(t.tried / elapsedS).toFixed(1).padStart(7)}`,
    );
    for (const [why, n] of t.wrong) console.log(`    ${why} x${n}`);
    if (t.lost + wrong > 0) failed = true;
  }
  console.log(
    `final check: ${final.checked} acknowledged publishes read back (listed, zip byte for byte), ${badZips.length} refused zips looked for: lost ${final.lost.length}, wrong ${final.wrong.length}`,
  );
  for (const line of [...final.lost, ...final.wrong].slice(0, 20)) console.log(`    ${line}`);
  if (final.lost.length + final.wrong.length > 0) failed = true;
  console.log(
    `server RSS: ${mib(rssAtStart)} at start (after set-up), ${mib(rssPeak)} peak (sampled each second), ${mib(rssAtEnd)} at end`,
  );
} catch (err) {
  failed = true;
  console.error(err);
} finally {
  await server.stop();
  await database?.drop();
}
process.exitCode = failed ? 1 : 0;
