import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { ADMIN_PASSWORD, basic, startTestApp, type TestApp } from '../support/app';
import { HANG_LIMIT_MS } from '../support/limits';
import { signIn, type UiClient } from './ui-helpers';

describe('web UI tokens, users and permissions', () => {
  let t: TestApp;
  let ui: UiClient;
  beforeAll(async () => {
    t = await startTestApp();
    ui = await signIn(t, 'admin', ADMIN_PASSWORD);
    await t.api('POST', '/repositories', { name: 'internal', type: 'hosted' });
    await t.api('POST', '/repositories', { name: 'cache', type: 'proxy', remoteUrl: 'http://127.0.0.1:9' });
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await t?.close();
  });

  describe('tokens', () => {
    let secret: string;

    test('creating a token shows its secret once with a copy button; the list afterwards shows only its prefix', async () => {
      const res = await ui.post('/tokens', { name: 'laptop', expires: '' });
      expect(res.status).toBe(201);
      const html = await res.text();
      secret = /id="new-token" type="text" readonly value="(orb_[A-Za-z0-9]+)"/.exec(html)![1];
      expect(html).toContain('data-copy="new-token"');
      expect(res.headers.get('cache-control')).toBe('no-store');
      const list = await ui.page('/tokens');
      expect(list.html).not.toContain(secret);
      expect(list.html).toContain(`${secret.slice(0, 10)}…`);
    });

    test('the new token authenticates the go protocol', async () => {
      expect((await t.request('/go/internal/example.com/x/@v/list', { auth: basic('admin', secret) })).status).toBe(404);
    });

    test('an expiry date is kept as the end of that day', async () => {
      const res = await ui.post('/tokens', { name: 'ci', expires: '2999-01-31' });
      expect(res.status).toBe(201);
      expect(await res.text()).toContain('2999-01-31 23:59 UTC');
    });

    test.each([
      ['an empty name', { name: ' ', expires: '' }, 'token-name', 'token name must be'],
      ['a date in the past', { name: 'old', expires: '2001-01-01' }, 'token-expires', 'in the future'],
    ])('creating a token with %s is refused beside the field', async (_, fields, id, message) => {
      const res = await ui.post('/tokens', fields);
      expect(res.status).toBe(400);
      expect(await res.text()).toMatch(new RegExp(`id="${id}-error">[^<]*${message}`));
    });

    test('revoking a token marks it revoked and it stops working', async () => {
      const id = /action="\/tokens\/(\d+)\/revoke"[^>]*data-confirm="Revoke the token laptop\?/.exec((await ui.page('/tokens')).html)![1];
      expect((await ui.post(`/tokens/${id}/revoke`, {})).status).toBe(303);
      expect((await ui.page('/tokens')).html).toContain('<span class="badge revoked">revoked</span>');
      expect((await t.request('/go/internal/example.com/x/@v/list', { auth: basic('admin', secret) })).status).toBe(401);
    });

    test("another user cannot revoke someone else's token", async () => {
      await t.api('POST', '/users', { username: 'mallory', password: 'mallory-pw' });
      const mallory = await signIn(t, 'mallory', 'mallory-pw');
      const id = /action="\/tokens\/(\d+)\/revoke"/.exec((await ui.page('/tokens')).html)![1];
      expect((await mallory.post(`/tokens/${id}/revoke`, {})).status).toBe(403);
    });
  });

  describe('users and permissions', () => {
    test('an administrator creates a user through the form', async () => {
      const res = await ui.post('/users', { username: 'carol', password: 'carol-pw-1' });
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe('/users/carol');
      expect((await ui.page('/users')).html).toContain('<a href="/users/carol">carol</a>');
      await signIn(t, 'carol', 'carol-pw-1');
    });

    test.each([
      ['a taken username', { username: 'carol', password: 'whatever-1' }, 'new-username', 'already exists'],
      ['an invalid username', { username: 'Carol!', password: 'whatever-1' }, 'new-username', 'username must be'],
      ['a short password', { username: 'dave', password: 'abc' }, 'new-password', 'password must be at least'],
    ])('creating a user with %s is refused beside the field', async (_, fields, id, message) => {
      const res = await ui.post('/users', fields);
      expect(res.status).toBe(400);
      expect(await res.text()).toMatch(new RegExp(`id="${id}-error">[^<]*${message}`));
    });

    test('roles chosen per repository are granted, changed and taken away', async () => {
      const page = await ui.page('/users/carol');
      expect(page.html).toContain('<select id="role-0" name="role:cache">');
      expect(page.html).toContain('<label for="role-1">internal</label>');
      expect((await ui.post('/users/carol/permissions', { 'role:internal': 'write', 'role:cache': 'read' })).status).toBe(303);
      const grants = async (repo: string) => (await t.api('GET', `/repositories/${repo}/permissions`)).json();
      expect(await grants('internal')).toMatchObject([{ username: 'carol', role: 'write' }]);
      expect(await grants('cache')).toMatchObject([{ username: 'carol', role: 'read' }]);
      expect((await ui.page('/users/carol')).html).toContain('Access of carol was saved (2 changes).');

      await ui.post('/users/carol/permissions', { 'role:internal': 'admin', 'role:cache': '' });
      expect(await grants('internal')).toMatchObject([{ username: 'carol', role: 'admin' }]);
      expect(await grants('cache')).toEqual([]);
    });

    test('an unknown role is refused, and the valid choices sent with it are not applied either', async () => {
      expect((await ui.post('/users/carol/permissions', { 'role:cache': 'write', 'role:internal': 'owner' })).status).toBe(400);
      expect(await (await t.api('GET', '/repositories/cache/permissions')).json()).toEqual([]);
    });

    test('the last administrator cannot demote themselves; the refusal is shown on the page', async () => {
      const res = await ui.post('/users/admin', {});
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('last enabled administrator');
    });

    test('changing your own password keeps you signed in', async () => {
      const res = await ui.post('/users/admin', { isAdmin: 'on', password: 'new-admin-pw' });
      expect(res.status).toBe(303);
      expect((await ui.get('/users')).status).toBe(200);
      await signIn(t, 'admin', 'new-admin-pw');
    });

    test('disabling a user through the form ends their sessions', async () => {
      const carol = await signIn(t, 'carol', 'carol-pw-1');
      expect((await ui.post('/users/carol', { disabled: 'on' })).status).toBe(303);
      expect((await carol.get('/')).status).toBe(303);
    });
  });
});
