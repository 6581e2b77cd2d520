import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Elysia } from 'elysia';
import { silentLogger } from '../../src/log';
import { createOrbitRepos, type OrbitRepos } from '../../src/plugin';
import { FsBlobStore } from '../../src/storage/fs-blob-store';
import { basic } from '../support/app';
import { openTestDatabase, type TestDatabase, testDatabaseKinds } from '../support/db';
import { type GoModDownload, makeGoEnv, parseJsonStream, runGo } from '../support/go';
import { HANG_LIMIT_MS } from '../support/limits';
import { buildModuleZip } from '../support/zipbuild';

const ADMIN = basic('admin', 'host-admin-pw');

/** A host application of its own: a route, a plugin of its own, and its own error handler. */
function hostApp() {
  return new Elysia({ name: 'host' })
    .decorate('hostName', 'acme-platform')
    .get('/hello', ({ hostName }) => ({ hello: hostName }))
    .get('/artifacts-status', () => 'host route beside the mount prefix');
}

describe.each(testDatabaseKinds())('the plugin mounted under a prefix in a host app (%s)', (dbKind) => {
  let db: TestDatabase;
  let dir: string;
  let orbit: OrbitRepos;
  let server: ReturnType<Elysia['listen']>;
  let base: string;

  beforeAll(async () => {
    db = await openTestDatabase(dbKind);
    dir = mkdtempSync(join(tmpdir(), 'orbit-plugin-'));
    orbit = await createOrbitRepos({
      database: db.handle,
      storage: new FsBlobStore(dir),
      prefix: '/artifacts',
      log: silentLogger,
      settings: { adminPassword: 'host-admin-pw' },
    });
    server = hostApp().use(orbit.plugin).listen({ hostname: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${server.server!.port}`;
  }, HANG_LIMIT_MS);

  afterAll(async () => {
    await server?.stop(true);
    await orbit?.close();
    await db?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the go command downloads a module uploaded through the mounted routes, and the host route keeps answering', async () => {
    const create = await fetch(`${base}/artifacts/api/v1/repositories`, {
      method: 'POST',
      headers: { authorization: ADMIN, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'internal', type: 'hosted', anonymousRead: true }),
    });
    expect(create.status).toBe(201);

    const mod = 'example.com/acme/mounted';
    const zip = buildModuleZip(mod, 'v1.2.0', {
      'go.mod': `module ${mod}\n\ngo 1.21\n`,
      'm.go': 'package mounted\n\nconst Name = "mounted"\n',
    });
    const put = await fetch(`${base}/artifacts/go/internal/${mod}/@v/v1.2.0.zip`, {
      method: 'PUT',
      headers: { authorization: ADMIN },
      body: zip,
    });
    expect(put.status).toBe(201);

    const goEnv = await makeGoEnv({ goproxy: `${base}/artifacts/go/internal/`, extra: { GONOSUMDB: 'example.com/acme' } });
    try {
      const downloading = runGo(['mod', 'download', '-json', `${mod}@v1.2.0`], { env: goEnv.env, cwd: goEnv.work });
      // The host's own routes answer while the go command talks to the mounted plugin.
      const hello = await fetch(`${base}/hello`);
      expect(await hello.json()).toEqual({ hello: 'acme-platform' });
      const r = await downloading;
      expect({ code: r.code, stderr: r.stderr, stdout: r.stdout }).toMatchObject({ code: 0, stderr: '' });
      const [info] = parseJsonStream<GoModDownload>(r.stdout);
      expect(info.Version).toBe('v1.2.0');
      expect(info.Sum).toStartWith('h1:');
    } finally {
      await goEnv.cleanup();
    }
    expect(await (await fetch(`${base}/artifacts-status`)).text()).toBe('host route beside the mount prefix');
  });

  test('every plugin route lives under the prefix and none at the root', async () => {
    expect((await fetch(`${base}/artifacts/health`)).status).toBe(200);
    expect((await fetch(`${base}/artifacts/swagger/json`)).status).toBe(200);
    const html = await (await fetch(`${base}/artifacts/swagger`)).text();
    expect(html).toContain('/artifacts/swagger/assets/swagger-ui-bundle.js');
    // The page asks for its spec by a relative URL, which resolves under the prefix.
    expect(html).toContain('url":"swagger/json');
    // swagger-ui's validator badge would load an image from a public service for a non-local host.
    expect(html).toContain('"validatorUrl":"none"');
    // The document describes this mount's API only: not the host's routes, the UI pages or the go protocol.
    const spec = await (await fetch(`${base}/artifacts/swagger/json`)).json();
    const paths = Object.keys(spec.paths);
    expect(paths).toContain('/artifacts/api/v1/repositories');
    expect(paths.filter((p) => !/^\/artifacts\/(api\/v1|health|ready)(\/|$)/.test(p))).toEqual([]);
    for (const path of ['/health', '/swagger', '/api/v1/repositories', '/go/internal/example.com/acme/mounted/@v/list']) {
      expect((await fetch(`${base}${path}`, { headers: { authorization: ADMIN } })).status).toBe(404);
    }
  });
});

test('two plugin instances in one process over two databases keep their state apart', async () => {
  const dbs = [await openTestDatabase('pglite'), await openTestDatabase('pglite')];
  const dirs = [mkdtempSync(join(tmpdir(), 'orbit-a-')), mkdtempSync(join(tmpdir(), 'orbit-b-'))];
  const [a, b] = await Promise.all(
    ['/a', '/b'].map((prefix, i) =>
      createOrbitRepos({
        database: dbs[i].handle,
        storage: new FsBlobStore(dirs[i]),
        prefix,
        log: silentLogger,
        settings: { adminPassword: `pw-${prefix.slice(1)}-secret` },
      }),
    ),
  );
  const app = new Elysia().use(a.plugin).use(b.plugin);
  const call = (path: string, auth: string, init: RequestInit = {}) =>
    app.handle(
      new Request(`http://host.test${path}`, {
        ...init,
        headers: { authorization: auth, 'content-type': 'application/json', ...init.headers },
      }),
    );
  try {
    const authA = basic('admin', 'pw-a-secret');
    const authB = basic('admin', 'pw-b-secret');
    expect(
      (await call('/a/api/v1/repositories', authA, { method: 'POST', body: JSON.stringify({ name: 'only-in-a', type: 'hosted' }) })).status,
    ).toBe(201);
    expect((await call('/a/api/v1/repositories/only-in-a', authA)).status).toBe(200);
    expect((await call('/b/api/v1/repositories/only-in-a', authB)).status).toBe(404);
    // Each instance has its own users: A's admin password is wrong for B.
    expect((await call('/b/api/v1/repositories', authA)).status).toBe(401);
    expect((await call('/b/api/v1/repositories', authB)).status).toBe(200);
  } finally {
    await Promise.all(dbs.map((d) => d.cleanup()));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
});
