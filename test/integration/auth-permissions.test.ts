import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { auditLog } from '../../src/db/schema';
import { basic, startTestApp, type TestApp } from '../support/app';
import { testDatabaseKinds } from '../support/db';
import { HANG_LIMIT_MS } from '../support/limits';
import { buildModuleZip } from '../support/zipbuild';

const MOD = 'example.com/secret';
const READER = basic('reader', 'reader-password');
const WRITER = basic('writer', 'writer-password');
const OWNER = basic('owner', 'owner-password');
const STRANGER = basic('stranger', 'stranger-password');

const zipOf = (version: string) => buildModuleZip(MOD, version, { 'go.mod': `module ${MOD}\n`, 'secret.go': 'package secret\n' });

describe.each(testDatabaseKinds())('repository permissions on %s', (dbKind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ db: dbKind });
    for (const name of ['reader', 'writer', 'owner', 'stranger']) {
      expect((await t.api('POST', '/users', { username: name, password: `${name}-password` })).status).toBe(201);
    }
    expect((await t.api('POST', '/repositories', { name: 'private', type: 'hosted' })).status).toBe(201);
    expect((await t.api('POST', '/repositories', { name: 'public', type: 'hosted', anonymousRead: true })).status).toBe(201);
  }, HANG_LIMIT_MS);
  beforeEach(() => t.ctx.auth.throttle.reset());
  afterAll(async () => {
    await t?.close();
  });

  const put = (repo: string, version: string, auth: string | null) =>
    t.request(`/go/${repo}/${MOD}/@v/${version}.zip`, { method: 'PUT', auth, body: new Uint8Array(zipOf(version)) });

  test('an administrator grants roles, and the list shows them', async () => {
    for (const [user, role] of [
      ['reader', 'read'],
      ['writer', 'write'],
      ['owner', 'admin'],
    ]) {
      const res = await t.api('PUT', `/repositories/private/permissions/${user}`, { role });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ username: user, role });
    }
    const list = await (await t.api('GET', '/repositories/private/permissions')).json();
    expect(list.map((g: { username: string; role: string }) => `${g.username}:${g.role}`)).toEqual([
      'owner:admin',
      'reader:read',
      'writer:write',
    ]);
  });

  test.each([
    ['an unknown role', 'reader', { role: 'owner' }, 400],
    ['an unknown user', 'nobody', { role: 'read' }, 404],
  ])('granting %s is refused', async (_, user, body, status) => {
    expect((await t.api('PUT', `/repositories/private/permissions/${user}`, body)).status).toBe(status);
  });

  test('a user with write may upload and a reader may then download', async () => {
    const up = await put('private', 'v1.0.0', WRITER);
    expect([401, 403]).not.toContain(up.status);
    expect(up.status).toBe(201);
    const zip = await t.request(`/go/private/${MOD}/@v/v1.0.0.zip`, { auth: READER });
    expect(zip.status).toBe(200);
    await zip.arrayBuffer();
    expect((await t.request(`/go/private/${MOD}/@v/list`, { auth: READER })).status).toBe(200);
  });

  test("a reader's upload is a 403 naming the user and the repository", async () => {
    const res = await put('private', 'v1.1.0', READER);
    expect(res.status).toBe(403);
    expect(await res.text()).toBe('user "reader" may not write to repository "private"\n');
  });

  // An existing private repository must never look absent to someone not allowed in: that is 401 or 403.
  test.each([
    ['@v/list', 'list'],
    ['@latest', 'latest'],
    ['@v/v1.0.0.info', 'info'],
    ['@v/v1.0.0.mod', 'mod'],
    ['@v/v1.0.0.zip', 'zip'],
    ['@v/v1.9.9.zip', 'zip of a version that does not exist'],
  ])('%s (%s) on a private repository is 401 anonymously and 403 for a stranger, never 404', async (suffix) => {
    const path = `/go/private/${MOD}/${suffix}`;
    const anon = await t.request(path);
    expect(anon.status).toBe(401);
    expect(anon.headers.get('www-authenticate')).toContain('Basic realm="OrbitRepos"');
    expect((await t.request(path, { auth: STRANGER })).status).toBe(403);
    expect((await t.request(path, { method: 'HEAD', auth: STRANGER })).status).toBe(403);
  });

  // Telling "no such repository" from "private repository" would let anyone list the private ones by name.
  test('an anonymous request to a repository that does not exist is a 401, like one to a private repository', async () => {
    expect((await t.request(`/go/nowhere/${MOD}/@v/list`)).status).toBe(401);
  });

  test('a repository with anonymousRead serves anyone, but uploads still need write', async () => {
    expect((await put('public', 'v1.0.0', null)).status).toBe(401);
    expect((await put('public', 'v1.0.0', STRANGER)).status).toBe(403);
    expect((await put('public', 'v1.0.0', basic('admin', 'admin-test-pw'))).status).toBe(201);
    expect((await t.request(`/go/public/${MOD}/@v/list`)).status).toBe(200);
    const zip = await t.request(`/go/public/${MOD}/@v/v1.0.0.zip`, { auth: STRANGER });
    expect(zip.status).toBe(200);
    await zip.arrayBuffer();
  });

  test('a repository admin manages its grants and settings but not other repositories', async () => {
    expect((await t.api('PUT', '/repositories/private/permissions/stranger', { role: 'read' }, OWNER)).status).toBe(200);
    expect((await t.request(`/go/private/${MOD}/@v/list`, { auth: STRANGER })).status).toBe(200);
    expect((await t.api('DELETE', '/repositories/private/permissions/stranger', undefined, OWNER)).status).toBe(204);
    expect((await t.request(`/go/private/${MOD}/@v/list`, { auth: STRANGER })).status).toBe(403);
    expect((await t.api('PATCH', '/repositories/private', { description: 'owned' }, OWNER)).status).toBe(200);
    expect((await t.api('GET', '/repositories/public/permissions', undefined, OWNER)).status).toBe(403);
    expect((await t.api('DELETE', '/repositories/private', undefined, OWNER)).status).toBe(403);
  });

  test('readers and writers may not see or change grants; anonymous callers are asked for credentials', async () => {
    expect((await t.api('GET', '/repositories/private/permissions', undefined, WRITER)).status).toBe(403);
    expect((await t.api('PUT', '/repositories/private/permissions/writer', { role: 'admin' }, WRITER)).status).toBe(403);
    expect((await t.api('GET', '/repositories/private/permissions', undefined, null)).status).toBe(401);
    expect((await t.api('GET', '/repositories/nowhere/permissions', undefined, null)).status).toBe(401);
    expect((await t.api('DELETE', '/repositories/private/permissions/stranger')).status).toBe(404);
  });

  test('a non-administrator lists only the repositories they can read', async () => {
    const names = async (auth: string) =>
      (await (await t.api('GET', '/repositories', undefined, auth)).json()).map((r: { name: string }) => r.name).sort();
    expect(await names(STRANGER)).toEqual(['public']);
    expect(await names(READER)).toEqual(['private', 'public']);
  });

  test('changing a role replaces the previous one', async () => {
    expect((await t.api('PUT', '/repositories/private/permissions/reader', { role: 'write' })).status).toBe(200);
    expect((await put('private', 'v1.2.0', READER)).status).toBe(201);
    expect((await t.api('PUT', '/repositories/private/permissions/reader', { role: 'read' })).status).toBe(200);
    expect((await put('private', 'v1.3.0', READER)).status).toBe(403);
  });

  test('grants and revocations are audit-logged with the repository, the user and the role', async () => {
    const rows = await t.ctx.db.select().from(auditLog);
    const grant = rows.find((r) => r.action === 'permission.grant' && r.actor === 'owner');
    expect(grant).toMatchObject({ repository: 'private', target: 'stranger', details: { role: 'read', previous: null } });
    expect(rows.find((r) => r.action === 'permission.revoke')).toMatchObject({
      repository: 'private',
      target: 'stranger',
      details: { role: 'read' },
    });
  });

  test('the OpenAPI document declares the security schemes on the user, token and permission routes', async () => {
    const spec = await (await t.request('/swagger/json')).json();
    for (const [path, method] of [
      ['/api/v1/users', 'get'],
      ['/api/v1/users/me/password', 'put'],
      ['/api/v1/tokens', 'post'],
      ['/api/v1/tokens/{id}', 'delete'],
      ['/api/v1/repositories/{name}/permissions/{username}', 'put'],
    ]) {
      expect(spec.paths[path]?.[method]?.security).toEqual([{ basic: [] }, { bearer: [] }]);
    }
  });

  test('a read settled from memory (mayReadNow) agrees with authorize, and a revoked grant goes back to authorize at once', async () => {
    expect((await t.api('POST', '/users', { username: 'passer', password: 'passer-password' })).status).toBe(201);
    const row = await t.ctx.repositories.rowByName('private');
    const pub = await t.ctx.repositories.rowByName('public');
    const perms = t.ctx.permissions;
    const user = (username: string, userId: number, isAdmin = false) => ({
      kind: 'user' as const,
      userId,
      username,
      isAdmin,
      via: 'token' as const,
    });
    const me = await (await t.api('GET', '/users/me', undefined, basic('passer', 'passer-password'))).json();
    const passer = user('passer', me.id);
    expect(perms.mayReadNow({ kind: 'anonymous' }, pub)).toBe(true);
    expect(perms.mayReadNow({ kind: 'anonymous' }, row)).toBeUndefined();
    expect(perms.mayReadNow(user('admin', 1, true), row)).toBe(true);
    // No grant, even once refused and remembered as none: authorize decides, and refuses.
    expect(perms.mayReadNow(passer, row)).toBeUndefined();
    await expect(perms.authorize(passer, row, 'read')).rejects.toThrow();
    expect(perms.mayReadNow(passer, row)).toBeUndefined();
    // Granted: once authorize has read the grant, the next read needs no question.
    expect((await t.api('PUT', '/repositories/private/permissions/passer', { role: 'read' })).status).toBe(200);
    await perms.authorize(passer, row, 'read');
    expect(perms.mayReadNow(passer, row)).toBe(true);
    const auth = basic('passer', 'passer-password');
    expect((await t.request(`/go/private/${MOD}/@v/list`, { auth })).status).toBe(200);
    // Revoked: not settled from memory any more, and the next request is refused.
    expect((await t.api('DELETE', '/repositories/private/permissions/passer')).status).toBe(204);
    expect(perms.mayReadNow(passer, row)).toBeUndefined();
    expect((await t.request(`/go/private/${MOD}/@v/list`, { auth })).status).toBe(403);
  });
});
