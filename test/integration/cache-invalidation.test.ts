/**
 * The in-memory caches (token principals, user rows, repository rows, group members, grants) change
 * with every write: at once in the process that wrote, and through LISTEN/NOTIFY in another process on
 * the same PostgreSQL. "Another process" is a second plugin instance on its own database connections
 * (it shares nothing with the first but the database and the blob directory).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Elysia } from 'elysia';
import { type DatabaseHandle, openDatabase } from '../../src/db/open';
import { silentLogger } from '../../src/log';
import { createOrbitRepos, type OrbitRepos } from '../../src/plugin';
import { FsBlobStore } from '../../src/storage/fs-blob-store';
import { ADMIN_AUTH, ADMIN_PASSWORD, basic } from '../support/app';
import { createTestDatabaseUrl, testDatabaseKinds } from '../support/db';
import { HANG_LIMIT_MS } from '../support/limits';
import { startStubUpstream } from '../support/stub-upstream';
import { buildModuleZip } from '../support/zipbuild';

const MOD = 'example.com/cached';

interface Instance {
  orbit: OrbitRepos;
  request(path: string, init?: RequestInit & { auth?: string | null }): Promise<Response>;
  api(method: string, path: string, body?: unknown, auth?: string): Promise<Response>;
}

async function instance(database: DatabaseHandle, storageDir: string): Promise<Instance> {
  const orbit = await createOrbitRepos({
    database,
    storage: new FsBlobStore(storageDir),
    log: silentLogger,
    settings: { adminPassword: ADMIN_PASSWORD },
  });
  const app = new Elysia().use(orbit.plugin);
  const request = (path: string, init: RequestInit & { auth?: string | null } = {}) => {
    const headers = new Headers(init.headers);
    if (init.auth) headers.set('authorization', init.auth);
    return app.handle(new Request(`http://orbit.test${path}`, { ...init, headers }));
  };
  return {
    orbit,
    request,
    api: (method, path, body, auth = ADMIN_AUTH) =>
      request(`/api/v1${path}`, {
        method,
        auth,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
  };
}

/** Asks until the answer has the wanted status; returns the last status (the assertion is the caller's). */
async function statusSoon(ask: () => Promise<Response>, want: number, limitMs = 5_000): Promise<number> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const status = (await ask()).status;
    if (status === want || Date.now() > deadline) return status;
    await Bun.sleep(20);
  }
}

type Setup = { label: string; kind: 'pglite' | 'postgres'; twoProcesses: boolean };
const setups: Setup[] = [
  ...testDatabaseKinds().map((kind) => ({ label: `one process on ${kind}`, kind, twoProcesses: false })),
  ...(testDatabaseKinds().includes('postgres')
    ? [{ label: 'two processes on postgres', kind: 'postgres' as const, twoProcesses: true }]
    : []),
];

describe.each(setups)('cache invalidation, $label', ({ kind, twoProcesses }) => {
  /** A writes; B reads (B is A in one process). */
  let a: Instance;
  let b: Instance;
  const cleanups: (() => Promise<void>)[] = [];
  let aliceToken: { id: number; token: string };
  const alice = basic('alice', 'alice-password');

  beforeAll(async () => {
    const storageDir = mkdtempSync(join(tmpdir(), 'orbit-cache-'));
    cleanups.push(async () => rmSync(storageDir, { recursive: true, force: true }));
    let url: string | undefined;
    if (kind === 'postgres') {
      const made = await createTestDatabaseUrl();
      url = made.url;
      cleanups.push(made.drop);
    }
    const dbA = await openDatabase({ url, maxConnections: 4 });
    cleanups.unshift(() => dbA.close());
    a = await instance(dbA, storageDir);
    cleanups.unshift(() => a.orbit.close());
    if (twoProcesses) {
      const dbB = await openDatabase({ url, maxConnections: 4 });
      cleanups.unshift(() => dbB.close());
      b = await instance(dbB, storageDir);
      cleanups.unshift(() => b.orbit.close());
    } else {
      b = a;
    }
    expect((await a.api('POST', '/users', { username: 'alice', password: 'alice-password' })).status).toBe(201);
    expect((await a.api('POST', '/repositories', { name: 'private', type: 'hosted' })).status).toBe(201);
    expect((await a.api('POST', '/repositories', { name: 'other', type: 'hosted', anonymousRead: true })).status).toBe(201);
    expect((await a.api('POST', '/repositories', { name: 'all', type: 'group', members: ['private'], anonymousRead: true })).status).toBe(
      201,
    );
    for (const [repo, version] of [
      ['private', 'v1.0.0'],
      ['other', 'v1.2.0'],
    ]) {
      const zip = buildModuleZip(MOD, version, { 'go.mod': `module ${MOD}\n` });
      const res = await a.request(`/go/${repo}/${MOD}/@v/${version}.zip`, { method: 'PUT', auth: ADMIN_AUTH, body: zip });
      expect(`${res.status} ${await res.text()}`).toStartWith('201');
    }
    aliceToken = await (await a.api('POST', '/tokens', { name: 'ci' }, alice)).json();
  }, HANG_LIMIT_MS);

  afterAll(async () => {
    for (const c of cleanups) await c().catch(() => {});
  });

  const readPrivate = (auth: string | null) => () => b.request(`/go/private/${MOD}/@v/v1.0.0.info`, { auth });

  test('a grant given in A lets B read, and taking it away refuses B again', async () => {
    const withToken = readPrivate(basic('alice', aliceToken.token));
    expect((await withToken()).status).toBe(403); // B now remembers "no grant"
    expect((await a.api('PUT', '/repositories/private/permissions/alice', { role: 'read' })).status).toBe(200);
    expect(await statusSoon(withToken, 200)).toBe(200);
    expect((await a.api('DELETE', '/repositories/private/permissions/alice')).status).toBe(204);
    expect(await statusSoon(withToken, 403)).toBe(403);
    expect((await a.api('PUT', '/repositories/private/permissions/alice', { role: 'read' })).status).toBe(200);
    expect(await statusSoon(withToken, 200)).toBe(200);
  });

  test('a repository edited in A is read with its new row in B', async () => {
    const anonymous = readPrivate(null);
    expect((await anonymous()).status).toBe(401);
    expect((await a.api('PATCH', '/repositories/private', { anonymousRead: true })).status).toBe(200);
    expect(await statusSoon(anonymous, 200)).toBe(200);
    expect((await a.api('PATCH', '/repositories/private', { anonymousRead: false })).status).toBe(200);
    expect(await statusSoon(anonymous, 401)).toBe(401);
  });

  test("a group's members changed in A are the members B answers with", async () => {
    const list = async () => (await b.request(`/go/all/${MOD}/@v/list`, { auth: ADMIN_AUTH })).text();
    expect(await list()).toBe('v1.0.0\n');
    expect((await a.api('PATCH', '/repositories/all', { members: ['other'] })).status).toBe(200);
    const deadline = Date.now() + 5_000;
    let got = await list();
    while (got !== 'v1.2.0\n' && Date.now() < deadline) {
      await Bun.sleep(20);
      got = await list();
    }
    expect(got).toBe('v1.2.0\n');
    expect((await a.api('GET', '/repositories/all').then((r) => r.json())).members).toEqual(['other']);
  });

  test('a version published in A is served by B, in its repository and through a group; deleted in A, B stops serving it', async () => {
    expect(
      (await a.api('POST', '/repositories', { name: 'over-other', type: 'group', members: ['other'], anonymousRead: true })).status,
    ).toBe(201);
    const info = () => b.request(`/go/other/${MOD}/@v/v1.3.0.info`);
    const mod = () => b.request(`/go/other/${MOD}/@v/v1.3.0.mod`);
    const text = async (path: string) => (await b.request(path)).text();
    /** Asks until the text is the wanted one; returns the last (the assertion is the caller's). */
    const textSoon = async (path: string, want: string) => {
      const deadline = Date.now() + 5_000;
      let got = await text(path);
      while (got !== want && Date.now() < deadline) {
        await Bun.sleep(20);
        got = await text(path);
      }
      return got;
    };
    // B now remembers the absence, the list, @latest and the group's merged list.
    const groupInfo = () => b.request(`/go/over-other/${MOD}/@v/v1.3.0.info`);
    expect((await info()).status).toBe(404);
    expect((await mod()).status).toBe(404);
    expect((await groupInfo()).status).toBe(404);
    expect(await text(`/go/other/${MOD}/@v/list`)).toBe('v1.2.0\n');
    expect(await text(`/go/over-other/${MOD}/@v/list`)).toBe('v1.2.0\n');
    expect(JSON.parse(await text(`/go/other/${MOD}/@latest`)).Version).toBe('v1.2.0');

    const zip = buildModuleZip(MOD, 'v1.3.0', { 'go.mod': `module ${MOD}\n` });
    const started = Date.now();
    expect((await a.request(`/go/other/${MOD}/@v/v1.3.0.zip`, { method: 'PUT', auth: ADMIN_AUTH, body: zip })).status).toBe(201);
    expect(await statusSoon(info, 200)).toBe(200);
    if (twoProcesses) console.log(`[cache] publish seen by the other process after ${Date.now() - started} ms`);
    expect(await statusSoon(mod, 200)).toBe(200);
    expect(await statusSoon(groupInfo, 200)).toBe(200);
    expect(await (await mod()).text()).toBe(`module ${MOD}\n`);
    expect(await textSoon(`/go/other/${MOD}/@v/list`, 'v1.2.0\nv1.3.0\n')).toBe('v1.2.0\nv1.3.0\n');
    expect(await textSoon(`/go/over-other/${MOD}/@v/list`, 'v1.2.0\nv1.3.0\n')).toBe('v1.2.0\nv1.3.0\n');
    expect(JSON.parse(await text(`/go/other/${MOD}/@latest`)).Version).toBe('v1.3.0');

    const del = await a.api('DELETE', `/repositories/other/modules/versions?module=${MOD}&version=v1.3.0`);
    expect(del.status).toBe(204);
    // Deleted under allow_once (its tombstone kept): gone, in the repository and through the group.
    expect(await statusSoon(info, 410)).toBe(410);
    expect(await statusSoon(mod, 410)).toBe(410);
    expect(await statusSoon(groupInfo, 410)).toBe(410);
    expect(await statusSoon(() => b.request(`/go/other/${MOD}/@v/v1.3.0.zip`), 410)).toBe(410);
    expect(await textSoon(`/go/other/${MOD}/@v/list`, 'v1.2.0\n')).toBe('v1.2.0\n');
    expect(await textSoon(`/go/over-other/${MOD}/@v/list`, 'v1.2.0\n')).toBe('v1.2.0\n');
    expect(JSON.parse(await text(`/go/other/${MOD}/@latest`)).Version).toBe('v1.2.0');
  });

  test('a token revoked in A is refused by B', async () => {
    const { token, id } = await (await a.api('POST', '/tokens', { name: 'short-lived' }, alice)).json();
    const withToken = () => b.request('/api/v1/users/me', { auth: `Bearer ${token}` });
    expect((await withToken()).status).toBe(200); // B now remembers the token
    const started = Date.now();
    expect((await a.api('DELETE', `/tokens/${id}`, undefined, alice)).status).toBe(204);
    expect(await statusSoon(withToken, 401)).toBe(401);
    const res = await withToken();
    expect((await res.json()).message).toBe('API token "short-lived" is revoked');
    // Not an assertion (the machine is shared); a notification normally arrives in milliseconds.
    if (twoProcesses) console.log(`[cache] revocation seen by the other process after ${Date.now() - started} ms`);
  });

  test('a user disabled in A is refused by B with a password and with a token', async () => {
    const bob = basic('bob', 'bob-password');
    expect((await a.api('POST', '/users', { username: 'bob', password: 'bob-password' })).status).toBe(201);
    const { token } = await (await a.api('POST', '/tokens', { name: 'bob-ci' }, bob)).json();
    const withPassword = () => b.request('/api/v1/users/me', { auth: bob });
    const withToken = () => b.request('/api/v1/users/me', { auth: `Bearer ${token}` });
    expect((await withPassword()).status).toBe(200);
    expect((await withToken()).status).toBe(200);
    expect((await a.api('PATCH', '/users/bob', { disabled: true })).status).toBe(200);
    expect(await statusSoon(withPassword, 401)).toBe(401);
    expect(await statusSoon(withToken, 401)).toBe(401);
  });

  test('a new password in A is required by B at once: the old one is refused', async () => {
    const carol = (pw: string) => () => b.request('/api/v1/users/me', { auth: basic('carol', pw) });
    expect((await a.api('POST', '/users', { username: 'carol', password: 'carol-old-pw' })).status).toBe(201);
    expect((await carol('carol-old-pw')()).status).toBe(200); // B remembers the row and the verified password
    expect((await a.api('PATCH', '/users/carol', { password: 'carol-new-pw' })).status).toBe(200);
    expect(await statusSoon(carol('carol-old-pw'), 401)).toBe(401);
    expect((await carol('carol-new-pw')()).status).toBe(200);
  });

  test('a deleted user is refused by B and their grants are gone when the name comes back', async () => {
    const dave = basic('dave', 'dave-password');
    const readAsDave = readPrivate(dave);
    expect((await a.api('POST', '/users', { username: 'dave', password: 'dave-password' })).status).toBe(201);
    expect((await a.api('PUT', '/repositories/private/permissions/dave', { role: 'read' })).status).toBe(200);
    expect(await statusSoon(readAsDave, 200)).toBe(200);
    expect((await a.api('DELETE', '/users/dave')).status).toBe(204);
    expect(await statusSoon(readAsDave, 401)).toBe(401);
    expect((await a.api('POST', '/users', { username: 'dave', password: 'dave-password' })).status).toBe(201);
    expect(await statusSoon(readAsDave, 403)).toBe(403);
  });

  test('a repository deleted in A is unknown to B', async () => {
    expect((await a.api('POST', '/repositories', { name: 'doomed', type: 'hosted', anonymousRead: true })).status).toBe(201);
    // Anonymous: a readable repository without the module says 404; one that does not exist, 401.
    const ask = () => b.request(`/go/doomed/${MOD}/@v/list`);
    expect((await ask()).status).toBe(404);
    expect((await a.api('DELETE', '/repositories/doomed')).status).toBe(204);
    expect(await statusSoon(ask, 401)).toBe(401);
  });

  test('the caches hold what was read, and their sizes are readable', () => {
    const stats = b.orbit.context.cache.stats();
    expect(stats.entries).toBeGreaterThan(0);
    expect(stats.bytes).toBeGreaterThan(0);
    expect(stats.bytes).toBeLessThanOrEqual(stats.maxBytes);
    const names = stats.regions.map((r) => r.name);
    expect(names).toEqual(
      expect.arrayContaining(['auth.tokens', 'auth.users', 'auth.grants', 'repos.rows', 'repos.members', 'repos.answers']),
    );
  });

  test("a group's answer kept in memory is kept per set of members the caller may read: one caller's never reaches another", async () => {
    expect(
      (await a.api('POST', '/repositories', { name: 'mixed', type: 'group', members: ['private', 'other'], anonymousRead: true })).status,
    ).toBe(201);
    const list = async (auth: string | null) => (await b.request(`/go/mixed/${MOD}/@v/list`, { auth })).text();
    for (let round = 0; round < 2; round++) {
      expect(await list(ADMIN_AUTH)).toBe('v1.0.0\nv1.2.0\n');
      expect(await list(null)).toBe('v1.2.0\n');
    }
    const anonymousPrivate = () => b.request(`/go/mixed/${MOD}/@v/v1.0.0.info`);
    expect((await b.request(`/go/mixed/${MOD}/@v/v1.0.0.info`, { auth: ADMIN_AUTH })).status).toBe(200);
    expect((await anonymousPrivate()).status).toBe(401);
    // A grant changed in A changes what alice may read, so B answers her from another entry.
    const aliceList = async () => (await b.request(`/go/mixed/${MOD}/@v/list`, { auth: alice })).text();
    const aliceListSoon = async (want: string) => {
      const deadline = Date.now() + 5_000;
      let got = await aliceList();
      while (got !== want && Date.now() < deadline) {
        await Bun.sleep(20);
        got = await aliceList();
      }
      return got;
    };
    expect((await a.api('DELETE', '/repositories/private/permissions/alice')).status).toBe(204);
    expect(await aliceListSoon('v1.2.0\n')).toBe('v1.2.0\n');
    expect((await a.api('PUT', '/repositories/private/permissions/alice', { role: 'read' })).status).toBe(200);
    expect(await aliceListSoon('v1.0.0\nv1.2.0\n')).toBe('v1.0.0\nv1.2.0\n');
    expect(await list(null)).toBe('v1.2.0\n');
  });

  test("a proxy's version evicted in A is fetched again by B, whose copy in memory is dropped", async () => {
    const stub = await startStubUpstream();
    cleanups.unshift(() => stub.close());
    const module = 'example.com/proxied/cached';
    stub.addModule(module, 'v1.0.0');
    expect(
      (await a.api('POST', '/repositories', { name: 'px', type: 'proxy', remoteUrl: stub.url, settings: { checksumVerification: 'off' } }))
        .status,
    ).toBe(201);
    const infoPath = stub.paths(module, 'v1.0.0').info;
    const info = () => b.request(`/go/px/${module}/@v/v1.0.0.info`);
    expect((await info()).status).toBe(200);
    expect((await info()).status).toBe(200);
    expect(stub.count(infoPath)).toBe(1);
    // B answered the .info once checked; its row is written right after, and only then is there a version to delete.
    await b.orbit.context.coalescer.settled();
    expect((await a.api('DELETE', `/repositories/px/modules/versions?module=${module}&version=v1.0.0`)).status).toBe(204);
    const deadline = Date.now() + 5_000;
    while (stub.count(infoPath) < 2 && Date.now() < deadline) {
      expect((await info()).status).toBe(200);
      await Bun.sleep(20);
    }
    expect(stub.count(infoPath)).toBe(2);
  });
});

describe('without invalidations a cache is never trusted', () => {
  test('an instance whose bus is not listening caches nothing and reads every change at once', async () => {
    const { url, drop } = testDatabaseKinds().includes('postgres')
      ? await createTestDatabaseUrl()
      : { url: undefined, drop: async () => {} };
    const db = await openDatabase({ url });
    const dir = mkdtempSync(join(tmpdir(), 'orbit-cache-'));
    try {
      const one = await instance(db, dir);
      await one.orbit.context.invalidation.close();
      expect((await one.api('POST', '/repositories', { name: 'r', type: 'hosted' })).status).toBe(201);
      const stored = one.orbit.context.cache.entries;
      expect((await one.request(`/go/r/${MOD}/@v/list`)).status).toBe(401);
      expect((await one.api('PATCH', '/repositories/r', { anonymousRead: true })).status).toBe(200);
      expect((await one.request(`/go/r/${MOD}/@v/list`)).status).toBe(404);
      expect(one.orbit.context.cache.entries).toBe(stored);
      await one.orbit.close();
    } finally {
      await db.close();
      await drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
