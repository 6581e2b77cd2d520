import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { auditLog, moduleVersions, repositoryPermissions } from '../../src/db/schema';
import { ADMIN_AUTH, basic, startTestApp, type TestApp } from '../support/app';
import { testDatabaseKinds } from '../support/db';
import { HANG_LIMIT_MS } from '../support/limits';
import { buildModuleZip as buildModuleZipLike } from '../support/zipbuild';

// zipbuild types its result Uint8Array<ArrayBufferLike>, which fetch bodies and toEqual will not take.
const buildModuleZip = (...args: Parameters<typeof buildModuleZipLike>) => buildModuleZipLike(...args) as Uint8Array<ArrayBuffer>;

const A = 'example.com/team/alpha';
const B = 'example.com/team/beta_x';
const C = 'example.org/gamma';
const READER = basic('viewer', 'viewer-password-1');
const WRITER = basic('editor', 'editor-password-1');

describe.each(testDatabaseKinds())('modules admin API on %s', (dbKind) => {
  let t: TestApp;
  const h1s = new Map<string, string>();

  beforeAll(async () => {
    t = await startTestApp({ db: dbKind });
    expect((await t.api('POST', '/repositories', { name: 'internal', type: 'hosted' })).status).toBe(201);
    expect((await t.api('POST', '/repositories', { name: 'mirror', type: 'proxy', remoteUrl: 'http://127.0.0.1:9' })).status).toBe(201);
    expect((await t.api('POST', '/repositories', { name: 'all', type: 'group', members: ['internal'] })).status).toBe(201);
    for (const [module, version] of [
      [A, 'v1.0.0'],
      [A, 'v1.1.0'],
      [A, 'v1.2.0-beta.1'],
      [B, 'v0.1.0'],
      [C, 'v0.0.0-20240101000000-abcdefabcdef'],
    ]) {
      const zip = buildModuleZip(module, version, { 'go.mod': `module ${module}\n\ngo 1.22\n`, 'x.go': 'package x\n' });
      const res = await t.request(`/go/internal/${module}/@v/${version}.zip`, { method: 'PUT', body: zip, auth: ADMIN_AUTH });
      expect(res.status).toBe(201);
      h1s.set(`${module}@${version}`, (await res.json()).h1);
    }
    const repo = await t.ctx.repositories.rowByName('internal');
    for (const [username, role] of [
      ['viewer', 'read'],
      ['editor', 'write'],
    ] as const) {
      const user = await t.ctx.users.create({ username, password: `${username}-password-1` }, { username: 'test' });
      await t.ctx.db.insert(repositoryPermissions).values({ repositoryId: repo.id, userId: user.id, role });
    }
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await t?.close();
  });

  test('modules are listed by path with their version count and latest release', async () => {
    const res = await t.api('GET', '/repositories/internal/modules', undefined, READER);
    expect(res.status).toBe(200);
    const page = await res.json();
    expect(page.total).toBe(3);
    expect(page.modules.map((m: { module: string }) => m.module)).toEqual([A, B, C]);
    expect(page.modules[0]).toMatchObject({ module: A, versions: 3, latest: 'v1.1.0' });
    // A module with only a pseudo-version still has a latest: the go command would take it.
    expect(page.modules[2]).toMatchObject({ module: C, versions: 1, latest: 'v0.0.0-20240101000000-abcdefabcdef' });
    expect(Date.parse(page.modules[0].updatedAt)).not.toBeNaN();
  });

  test.each([
    ['a prefix', '?prefix=example.com/team/', [A, B]],
    ['a prefix with an underscore, matched literally', '?prefix=example.com/team/beta_', [B]],
    ['a LIKE wildcard, matched literally', '?prefix=example.com/%25', []],
    ['a page size', '?limit=2', [A, B]],
    ['an offset', '?limit=2&offset=2', [C]],
  ])('listing with %s pages and filters', async (_, query, modules) => {
    const page = await (await t.api('GET', `/repositories/internal/modules${query}`)).json();
    expect(page.modules.map((m: { module: string }) => m.module)).toEqual(modules);
  });

  test('a limit out of range is a 400 with the JSON error shape', async () => {
    const res = await t.api('GET', '/repositories/internal/modules?limit=0');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'bad_request' });
  });

  test('the versions of a module come newest first with size, hashes and origin', async () => {
    const res = await t.api('GET', `/repositories/internal/modules/versions?module=${encodeURIComponent(A)}`, undefined, READER);
    expect(res.status).toBe(200);
    const versions = await res.json();
    expect(versions.map((v: { version: string }) => v.version)).toEqual(['v1.2.0-beta.1', 'v1.1.0', 'v1.0.0']);
    expect(versions[1]).toMatchObject({ version: 'v1.1.0', origin: 'uploaded', createdBy: 'admin', h1: h1s.get(`${A}@v1.1.0`) });
    expect(versions[1].size).toBeGreaterThan(0);
    expect(versions[1].goModH1).toStartWith('h1:');
  });

  test('the go.mod of a version is returned as text', async () => {
    const res = await t.api(
      'GET',
      `/repositories/internal/modules/gomod?module=${encodeURIComponent(A)}&version=v1.0.0`,
      undefined,
      READER,
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toStartWith('text/plain');
    expect(await res.text()).toBe(`module ${A}\n\ngo 1.22\n`);
  });

  test.each([
    ['versions of an unknown module', `/repositories/internal/modules/versions?module=example.com/nope`],
    ['the go.mod of an unknown version', `/repositories/internal/modules/gomod?module=${A}&version=v9.0.0`],
    ['the modules of an unknown repository', '/repositories/nope/modules'],
  ])('%s is a 404', async (_, path) => {
    const res = await t.api('GET', path);
    expect(res.status).toBe(404);
    expect((await res.json()).error).toBe('not_found');
  });

  test('reading needs read access: anonymous callers get 401', async () => {
    expect((await t.api('GET', '/repositories/internal/modules', undefined, null)).status).toBe(401);
  });

  test('deleting needs write access, is audited, and makes the version disappear from the protocol', async () => {
    const path = `/repositories/internal/modules/versions?module=${encodeURIComponent(A)}&version=v1.1.0`;
    expect((await t.api('DELETE', path, undefined, READER)).status).toBe(403);
    expect((await t.api('DELETE', path, undefined, WRITER)).status).toBe(204);
    expect((await t.api('DELETE', path, undefined, WRITER)).status).toBe(404);
    expect(await (await t.request(`/go/internal/${A}/@v/list`, { auth: ADMIN_AUTH })).text()).toBe('v1.0.0\nv1.2.0-beta.1\n');
    expect((await t.request(`/go/internal/${A}/@v/v1.1.0.info`, { auth: ADMIN_AUTH })).status).toBe(410);
    const audit = (await t.ctx.db.select().from(auditLog)).filter((r) => r.action === 'module.delete');
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: 'editor', repository: 'internal', target: `${A}@v1.1.0` });
    // Different bytes under an unpublished version break every go.sum that pinned it: refused until an
    // administrator purges its tombstone on purpose.
    const zip = buildModuleZip(A, 'v1.1.0', { 'go.mod': `module ${A}\n`, 'y.go': 'package y\n' });
    expect((await t.request(`/go/internal/${A}/@v/v1.1.0.zip`, { method: 'PUT', body: zip, auth: ADMIN_AUTH })).status).toBe(409);
    expect((await t.api('DELETE', `/repositories/internal/tombstones?module=${encodeURIComponent(A)}&version=v1.1.0`)).status).toBe(204);
    expect((await t.request(`/go/internal/${A}/@v/v1.1.0.zip`, { method: 'PUT', body: zip, auth: ADMIN_AUTH })).status).toBe(201);
  });

  test('a read-only repository (write policy "deny") refuses to delete a version with 403 and keeps it', async () => {
    expect((await t.api('PATCH', '/repositories/internal', { writePolicy: 'deny' })).status).toBe(200);
    try {
      const path = `/repositories/internal/modules/versions?module=${encodeURIComponent(A)}&version=v1.0.0`;
      const res = await t.api('DELETE', path, undefined, ADMIN_AUTH);
      expect(res.status).toBe(403);
      expect((await res.json()).message).toContain('read-only');
      expect((await t.request(`/go/internal/${A}/@v/v1.0.0.info`, { auth: ADMIN_AUTH })).status).toBe(200);
    } finally {
      expect((await t.api('PATCH', '/repositories/internal', { writePolicy: 'allow_once' })).status).toBe(200);
    }
  });

  // The go command takes the newest commit among pseudo-versions; upload order must not decide it.
  test('@latest among pseudo-versions is the newest commit, and .info reports the commit time', async () => {
    const D = 'example.org/delta';
    for (const version of ['v0.0.0-20240301000000-bbbbbbbbbbbb', 'v0.0.0-20240101000000-aaaaaaaaaaaa']) {
      const zip = buildModuleZip(D, version, { 'go.mod': `module ${D}\n`, 'd.go': 'package d\n' });
      expect((await t.request(`/go/internal/${D}/@v/${version}.zip`, { method: 'PUT', body: zip, auth: ADMIN_AUTH })).status).toBe(201);
    }
    expect(await (await t.request(`/go/internal/${D}/@latest`, { auth: ADMIN_AUTH })).json()).toEqual({
      Version: 'v0.0.0-20240301000000-bbbbbbbbbbbb',
      Time: '2024-03-01T00:00:00Z',
    });
    expect(await (await t.request(`/go/internal/${D}/@v/v0.0.0-20240101000000-aaaaaaaaaaaa.info`, { auth: ADMIN_AUTH })).json()).toEqual({
      Version: 'v0.0.0-20240101000000-aaaaaaaaaaaa',
      Time: '2024-01-01T00:00:00Z',
    });
  });

  test('a proxy repository lists its cached versions the same way', async () => {
    const mirror = await t.ctx.repositories.rowByName('mirror');
    await t.ctx.db.insert(moduleVersions).values([
      {
        repositoryId: mirror.id,
        modulePath: 'example.net/cached',
        version: 'v1.0.0',
        time: new Date('2023-01-01T00:00:00Z'),
        origin: 'cached',
      },
      {
        repositoryId: mirror.id,
        modulePath: 'example.net/cached',
        version: 'v1.0.1',
        time: new Date('2023-02-01T00:00:00Z'),
        origin: 'cached',
      },
    ]);
    const page = await (await t.api('GET', '/repositories/mirror/modules')).json();
    expect(page).toMatchObject({ total: 1, modules: [{ module: 'example.net/cached', versions: 2, latest: 'v1.0.1' }] });
    const versions = await (await t.api('GET', '/repositories/mirror/modules/versions?module=example.net/cached')).json();
    expect(versions[0]).toMatchObject({ version: 'v1.0.1', origin: 'cached', size: null, h1: null });
    // A version whose go.mod was never cached has nothing to preview, and nothing is fetched for it.
    expect((await t.api('GET', '/repositories/mirror/modules/gomod?module=example.net/cached&version=v1.0.0')).status).toBe(404);
  });

  test('a group repository stores no modules of its own: 400', async () => {
    const res = await t.api('GET', '/repositories/all/modules');
    expect(res.status).toBe(400);
    expect((await res.json()).message).toContain('group');
  });

  test('the routes are in the OpenAPI document under the modules tag', async () => {
    const spec = await (await t.request('/swagger/json')).json();
    expect(spec.paths['/api/v1/repositories/{name}/modules']?.get?.tags).toEqual(['modules']);
    expect(spec.paths['/api/v1/repositories/{name}/modules/versions']?.delete).toBeDefined();
  });
});
