import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { ADMIN_PASSWORD, startTestApp, type TestApp } from '../support/app';
import { HANG_LIMIT_MS } from '../support/limits';
import { buildModuleZip } from '../support/zipbuild';
import { signIn, type UiClient } from './ui-helpers';

describe('web UI CSRF protection', () => {
  let t: TestApp;
  let ui: UiClient;
  beforeAll(async () => {
    t = await startTestApp();
    ui = await signIn(t, 'admin', ADMIN_PASSWORD);
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await t?.close();
  });

  const exists = async (name: string) => (await t.api('GET', `/repositories/${name}`)).status === 200;

  test('a form posted with the session CSRF token is carried out', async () => {
    const res = await ui.post('/repositories', { format: 'go', type: 'hosted', name: 'fine', writePolicy: 'allow_once' });
    expect(res.status).toBe(303);
    expect(await exists('fine')).toBe(true);
  });

  test.each([
    ['no CSRF token', null],
    ['a made-up CSRF token', 'forged-token-value'],
  ])('a form posted with %s is refused with 403 and changes nothing', async (_, csrf) => {
    const res = await ui.post('/repositories', { format: 'go', type: 'hosted', name: 'csrf-victim' }, { csrf });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('did not come from this site');
    expect(await exists('csrf-victim')).toBe(false);
  });

  // A token is bound to its session: one stolen from another session (or user) is worthless.
  test('the CSRF token of another session is refused', async () => {
    const other = await signIn(t, 'admin', ADMIN_PASSWORD);
    expect(other.csrf).not.toBe(ui.csrf);
    const res = await ui.post('/repositories', { format: 'go', type: 'hosted', name: 'csrf-victim' }, { csrf: other.csrf });
    expect(res.status).toBe(403);
    expect(await exists('csrf-victim')).toBe(false);
  });

  test('signing out needs the CSRF token too, so another site cannot sign people out', async () => {
    expect((await ui.post('/logout', {}, { csrf: null })).status).toBe(403);
    expect((await ui.get('/')).status).toBe(200);
  });

  test('a POST without a session goes to the sign-in form and changes nothing', async () => {
    const res = await t.request('/repositories', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'format=go&type=hosted&name=anon-made',
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toStartWith('/login');
    expect(await exists('anon-made')).toBe(false);
  });

  describe('uploads to /go/ with the session cookie', () => {
    const module = 'example.com/acme/viaui';
    const put = (version: string, csrf: string | null) =>
      t.request(`/go/fine/${module}/@v/${version}.zip`, {
        method: 'PUT',
        headers: { cookie: ui.cookie, 'content-type': 'application/zip', ...(csrf ? { 'x-csrf-token': csrf } : {}) },
        body: new Uint8Array(buildModuleZip(module, version, { 'go.mod': `module ${module}\n` })),
      });

    test('are accepted with the X-CSRF-Token header', async () => {
      expect((await put('v1.0.0', ui.csrf)).status).toBe(201);
    });

    test('are refused with 403 without it, or with a wrong one', async () => {
      expect((await put('v1.1.0', null)).status).toBe(403);
      expect((await put('v1.1.0', 'wrong')).status).toBe(403);
      expect((await t.request(`/go/fine/${module}/@v/list`, { auth: null, headers: { cookie: ui.cookie } })).status).toBe(200);
      expect(await (await t.request(`/go/fine/${module}/@v/list`, { headers: { cookie: ui.cookie } })).text()).toBe('v1.0.0\n');
    });
  });
});
