import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { auditLog } from '../../src/db/schema';
import { basic, startTestApp, type TestApp } from '../support/app';
import { testDatabaseKinds } from '../support/db';
import { HANG_LIMIT_MS } from '../support/limits';

describe.each(testDatabaseKinds())('users admin API on %s', (dbKind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ db: dbKind });
  }, HANG_LIMIT_MS);
  beforeEach(() => t.ctx.auth.throttle.reset());
  afterAll(async () => {
    await t?.close();
  });

  test('an administrator creates a user, who then appears in the list without any password field', async () => {
    const res = await t.api('POST', '/users', { username: 'carol', password: 'carol-password' });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ username: 'carol', isAdmin: false, disabled: false });
    const list = await (await t.api('GET', '/users')).json();
    expect(list.map((u: { username: string }) => u.username)).toEqual(['admin', 'carol']);
    expect(JSON.stringify(list)).not.toMatch(/password|argon2/i);
  });

  test('the stored hash is argon2id', async () => {
    const carol = await t.ctx.users.get('carol');
    expect(carol.passwordHash).toStartWith('$argon2id$');
  });

  test.each([
    ['a duplicate username', { username: 'carol', password: 'whatever' }, 409],
    ['an uppercase username', { username: 'Carol', password: 'whatever' }, 400],
    ['the reserved name "me"', { username: 'me', password: 'whatever' }, 400],
    ['a too short password', { username: 'dave', password: '1234' }, 400],
  ])('creating a user with %s is refused', async (_, body, status) => {
    expect((await t.api('POST', '/users', body)).status).toBe(status);
  });

  test('a non-administrator may see only themselves, and may not manage users', async () => {
    const carol = basic('carol', 'carol-password');
    expect((await t.api('GET', '/users/me', undefined, carol)).status).toBe(200);
    expect((await t.api('GET', '/users/carol', undefined, carol)).status).toBe(200);
    expect((await t.api('GET', '/users/admin', undefined, carol)).status).toBe(403);
    expect((await t.api('GET', '/users', undefined, carol)).status).toBe(403);
    expect((await t.api('POST', '/users', { username: 'eve', password: 'eve-password' }, carol)).status).toBe(403);
    expect((await t.api('PATCH', '/users/carol', { isAdmin: true }, carol)).status).toBe(403);
    expect((await t.api('DELETE', '/users/admin', undefined, carol)).status).toBe(403);
    expect((await t.api('GET', '/users', undefined, null)).status).toBe(401);
  });

  test('a user changes their own password with the current one, and only with it', async () => {
    const carol = basic('carol', 'carol-password');
    const wrong = await t.api('PUT', '/users/me/password', { currentPassword: 'nope', newPassword: 'carol-second' }, carol);
    expect(wrong.status).toBe(403);
    expect(wrong.headers.get('www-authenticate')).toBeNull();
    expect((await t.api('PUT', '/users/me/password', { currentPassword: 'carol-password', newPassword: '123' }, carol)).status).toBe(400);
    expect(
      (await t.api('PUT', '/users/me/password', { currentPassword: 'carol-password', newPassword: 'carol-second' }, carol)).status,
    ).toBe(204);
    expect((await t.api('GET', '/users/me', undefined, carol)).status).toBe(401);
    expect((await t.api('GET', '/users/me', undefined, basic('carol', 'carol-second'))).status).toBe(200);
  });

  test("changing a password ends the user's web sessions", async () => {
    const carol = await t.ctx.users.get('carol');
    const { secret } = await t.ctx.sessions.createSession(carol.id);
    expect(await t.ctx.sessions.lookup(secret)).not.toBeNull();
    expect((await t.api('PATCH', '/users/carol', { password: 'carol-third' })).status).toBe(200);
    expect(await t.ctx.sessions.lookup(secret)).toBeNull();
  });

  test('an administrator promotes, demotes and disables users', async () => {
    expect(await (await t.api('PATCH', '/users/carol', { isAdmin: true })).json()).toMatchObject({ isAdmin: true });
    expect((await t.api('GET', '/users', undefined, basic('carol', 'carol-third'))).status).toBe(200);
    expect(await (await t.api('PATCH', '/users/carol', { isAdmin: false, disabled: true })).json()).toMatchObject({
      isAdmin: false,
      disabled: true,
    });
    expect((await t.api('GET', '/users/me', undefined, basic('carol', 'carol-third'))).status).toBe(401);
    expect((await t.api('PATCH', '/users/nobody', { disabled: true })).status).toBe(404);
  });

  test.each([
    ['deleting', 'DELETE', undefined],
    ['disabling', 'PATCH', { disabled: true }],
    ['demoting', 'PATCH', { isAdmin: false }],
  ])('%s the last enabled administrator is refused with 409', async (_, method, body) => {
    const res = await t.api(method, '/users/admin', body);
    expect(res.status).toBe(409);
    expect((await res.json()).message).toContain('last enabled administrator');
    expect(await (await t.api('GET', '/users/admin')).json()).toMatchObject({ isAdmin: true, disabled: false });
  });

  // A disabled administrator cannot manage anything, so it does not count as the other admin.
  test('with a second enabled administrator the first can be demoted; a disabled one does not count', async () => {
    expect((await t.api('PATCH', '/users/carol', { isAdmin: true })).status).toBe(200);
    expect((await t.api('PATCH', '/users/admin', { isAdmin: false })).status).toBe(409);
    expect((await t.api('PATCH', '/users/carol', { disabled: false })).status).toBe(200);
    expect((await t.api('PATCH', '/users/admin', { isAdmin: false })).status).toBe(200);
    const carol = basic('carol', 'carol-third');
    expect((await t.api('PATCH', '/users/admin', { isAdmin: true }, carol)).status).toBe(200);
  });

  // Two changes that each see "another admin exists" must not both succeed (the service locks the admin rows).
  test('two concurrent demotions of the only two administrators leave one administrator', async () => {
    const results = await Promise.allSettled([
      t.ctx.users.update('admin', { isAdmin: false }, { actor: { username: 'test' } }),
      t.ctx.users.update('carol', { isAdmin: false }, { actor: { username: 'test' } }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toMatchObject({ status: 409 });
    const admins = (await t.ctx.users.list()).filter((u) => u.isAdmin && !u.disabled);
    expect(admins.length).toBe(1);
    await t.ctx.users.update(admins[0].username === 'admin' ? 'carol' : 'admin', { isAdmin: true }, { actor: { username: 'test' } });
  });

  test('deleting a user takes their tokens and grants with them', async () => {
    expect((await t.api('POST', '/users', { username: 'dave', password: 'dave-password' })).status).toBe(201);
    expect((await t.api('POST', '/repositories', { name: 'r1', type: 'hosted' })).status).toBe(201);
    expect((await t.api('PUT', '/repositories/r1/permissions/dave', { role: 'write' })).status).toBe(200);
    const { token } = await (await t.api('POST', '/tokens', { name: 'x' }, basic('dave', 'dave-password'))).json();
    expect((await t.api('DELETE', '/users/dave')).status).toBe(204);
    expect((await t.api('GET', '/users/dave')).status).toBe(404);
    expect((await t.api('GET', '/users/me', undefined, `Bearer ${token}`)).status).toBe(401);
    expect(await (await t.api('GET', '/repositories/r1/permissions')).json()).toEqual([]);
  });

  test('every user change is in the audit log, and no password is', async () => {
    const rows = await t.ctx.db.select().from(auditLog);
    expect(rows.map((r) => r.action)).toEqual(expect.arrayContaining(['user.create', 'user.update', 'user.delete', 'user.password']));
    expect(rows.find((r) => r.action === 'user.password')).toMatchObject({ actor: 'carol', target: 'carol' });
    expect(JSON.stringify(rows)).not.toMatch(/carol-(password|second|third)/);
  });

  test('a restart does not bring back a deleted bootstrap admin while another administrator exists', async () => {
    expect((await t.api('DELETE', '/users/admin', undefined, basic('carol', 'carol-third'))).status).toBe(204);
    await t.ctx.users.ensureBootstrapAdmin('admin');
    expect(await t.ctx.users.byName('admin')).toBeUndefined();
  });
});
