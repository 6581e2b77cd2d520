import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { ADMIN_AUTH, ADMIN_PASSWORD, startTestApp, type TestApp } from '../support/app';
import { HANG_LIMIT_MS } from '../support/limits';
import { buildModuleZip } from '../support/zipbuild';
import { signIn, type UiClient } from './ui-helpers';

describe('web UI module and version pages', () => {
  let t: TestApp;
  let ui: UiClient;
  const mod = 'example.com/acme/lib';
  const page = (version?: string) =>
    `/repositories/internal/module?module=${encodeURIComponent(mod)}${version ? `&version=${version}` : ''}`;

  beforeAll(async () => {
    t = await startTestApp();
    ui = await signIn(t, 'admin', ADMIN_PASSWORD);
    await t.api('POST', '/repositories', { name: 'internal', type: 'hosted' });
    await t.api('POST', '/repositories', { name: 'cache', type: 'proxy', remoteUrl: 'http://127.0.0.1:9' });
    await t.api('POST', '/repositories', { name: 'all', type: 'group', members: ['internal', 'cache'] });
    for (const [m, v] of [
      [mod, 'v1.0.0'],
      [mod, 'v1.2.0'],
      ['example.com/other/tool', 'v0.1.0'],
    ]) {
      const zip = buildModuleZip(m, v, { 'go.mod': `module ${m}\n\ngo 1.22\n`, 'a.go': 'package a\n' });
      const res = await t.request(`/go/internal/${m}/@v/${v}.zip`, { method: 'PUT', auth: ADMIN_AUTH, body: new Uint8Array(zip) });
      expect(res.status).toBe(201);
    }
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await t?.close();
  });

  test('the repository page lists its modules with version counts and latest, and GONOSUMDB names their prefixes', async () => {
    const { html } = await ui.page('/repositories/internal');
    expect(html).toContain('Modules <span class="muted">(2)</span>');
    expect(html).toContain(`>${mod}</a>`);
    expect(html).toMatch(/<td class="num">2<\/td>\s*<td class="mono">v1\.2\.0<\/td>/);
    expect(html).toContain('export GONOSUMDB=example.com/acme,example.com/other');
  });

  test('searching keeps only module paths with the prefix', async () => {
    const { html } = await ui.page('/repositories/internal?q=example.com%2Fother');
    expect(html).toContain('example.com/other/tool');
    expect(html).not.toContain(`>${mod}</a>`);
  });

  test('a module page lists versions newest first and shows the newest one’s go.mod, hashes and go get line', async () => {
    const { status, html } = await ui.page(page());
    expect(status).toBe(200);
    expect(html.indexOf('>v1.2.0</a>')).toBeLessThan(html.indexOf('>v1.0.0</a>'));
    expect(html).toContain(`value="go get ${mod}@v1.2.0"`);
    expect(html).toContain(`<pre id="gomod" tabindex="0">module ${mod}\n\ngo 1.22\n</pre>`);
    expect(html).toMatch(/h1:[A-Za-z0-9+/]{43}=/);
    expect(html).toContain('uploaded by admin');
  });

  test('a fork (its go.mod names another module) says on its page that it is usable through replace only, with the replace to write', async () => {
    const fork = 'example.com/acme/fork';
    const zip = buildModuleZip(fork, 'v1.0.1', { 'go.mod': `module ${mod}\n\ngo 1.22\n`, 'a.go': 'package a\n' });
    const res = await t.request(`/go/internal/${fork}/@v/v1.0.1.zip`, { method: 'PUT', auth: ADMIN_AUTH, body: new Uint8Array(zip) });
    expect(res.status).toBe(201);
    const { html } = await ui.page(`/repositories/internal/module?module=${encodeURIComponent(fork)}`);
    expect(html).toContain('data-replace-only');
    expect(html).toContain(`replace ${mod} =&gt; ${fork} v1.0.1`);
    expect(html).toContain(`value="go mod edit -replace ${mod}=${fork}@v1.0.1"`);
    expect(html).not.toContain(`value="go get ${fork}@v1.0.1"`);
  });

  test('choosing a version shows that one', async () => {
    const { html } = await ui.page(page('v1.0.0'));
    expect(html).toContain(`value="go get ${mod}@v1.0.0"`);
  });

  test('a group page lists its members instead of modules, and a proxy with nothing cached says so', async () => {
    const group = await ui.page('/repositories/all');
    expect(group.html).toMatch(
      /<ol><li><a href="\/repositories\/internal">internal<\/a><\/li><li><a href="\/repositories\/cache">cache<\/a><\/li><\/ol>/,
    );
    expect(group.html).not.toContain('id="upload-form"');
    const proxy = await ui.page('/repositories/cache');
    expect(proxy.html).toContain('Nothing cached yet');
    expect(proxy.html).toContain('export GOPROXY=http://orbit.test/go/cache/');
  });

  test('a user with read access sees versions but no delete button, and a delete they post anyway is a 403', async () => {
    await t.api('POST', '/users', { username: 'reader', password: 'reader-pw' });
    await t.api('PUT', '/repositories/internal/permissions/reader', { role: 'read' });
    const reader = await signIn(t, 'reader', 'reader-pw');
    const { html } = await reader.page(page());
    expect(html).toContain('>v1.2.0</a>');
    expect(html).not.toContain('/versions/delete');
    expect((await reader.post('/repositories/internal/versions/delete', { module: mod, version: 'v1.0.0' })).status).toBe(403);
  });

  test('deleting a version through the form removes it from the go protocol too', async () => {
    const { html } = await ui.page(page());
    expect(html).toContain('data-confirm="Delete example.com/acme/lib@v1.0.0 from internal?');
    const res = await ui.post('/repositories/internal/versions/delete', { module: mod, version: 'v1.0.0' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(page());
    expect(await (await t.request(`/go/internal/${mod}/@v/list`, { auth: ADMIN_AUTH })).text()).toBe('v1.2.0\n');
    expect((await ui.page(page())).html).toContain('example.com/acme/lib@v1.0.0 was deleted.');
  });

  test('a module with no versions left sends you back to the repository', async () => {
    const res = await ui.post('/repositories/internal/versions/delete', { module: mod, version: 'v1.2.0' });
    expect(res.headers.get('location')).toBe('/repositories/internal');
    expect((await ui.page(page())).status).toBe(404);
  });
});
