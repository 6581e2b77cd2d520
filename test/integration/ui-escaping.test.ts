import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { ADMIN_AUTH, ADMIN_PASSWORD, startTestApp, type TestApp } from '../support/app';
import { HANG_LIMIT_MS } from '../support/limits';
import { buildModuleZip } from '../support/zipbuild';
import { signIn, type UiClient } from './ui-helpers';

const SCRIPT = '<script>alert("x")</script>';
const ESCAPED = '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;';
const IMG = '<img src=x onerror=alert(1)>';

/** Everything a person or the go command can put into the database comes out as text, never as markup. */
describe('web UI escaping of user-controlled text', () => {
  let t: TestApp;
  let ui: UiClient;
  const module = 'example.com/acme/xss';

  beforeAll(async () => {
    t = await startTestApp();
    ui = await signIn(t, 'admin', ADMIN_PASSWORD);
    await t.api('POST', '/repositories', { name: 'xss', type: 'hosted', description: SCRIPT });
    // A go.mod comment may hold anything: it reaches the page through the go.mod preview.
    const zip = buildModuleZip(module, 'v1.0.0', { 'go.mod': `module ${module}\n\n// ${SCRIPT} ${IMG}\n` });
    const put = await t.request(`/go/xss/${module}/@v/v1.0.0.zip`, { method: 'PUT', auth: ADMIN_AUTH, body: new Uint8Array(zip) });
    expect(put.status).toBe(201);
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await t?.close();
  });

  test('a repository description is escaped in the list, on its page and in the edit form', async () => {
    for (const path of ['/', '/repositories/xss', '/repositories/xss/edit', '/repositories/xss/delete']) {
      const { html } = await ui.page(path);
      expect(html).not.toContain(SCRIPT);
      if (path !== '/repositories/xss/delete') expect(html).toContain(ESCAPED);
    }
  });

  test('a go.mod preview is escaped', async () => {
    const { status, html } = await ui.page(`/repositories/xss/module?module=${encodeURIComponent(module)}`);
    expect(status).toBe(200);
    expect(html).not.toContain(SCRIPT);
    expect(html).not.toContain(IMG);
    expect(html).toContain(`// ${ESCAPED} &lt;img src=x onerror=alert(1)&gt;`);
  });

  test('a search term is escaped where the page repeats it', async () => {
    const q = `"><svg onload=alert(1)>`;
    const { html } = await ui.page(`/repositories/xss?q=${encodeURIComponent(q)}`);
    expect(html).not.toContain('<svg');
    expect(html).toContain('value="&quot;&gt;&lt;svg onload=alert(1)&gt;"');
  });

  test('a module path asked for in the address is escaped in the not-found page', async () => {
    const { status, html } = await ui.page(`/repositories/xss/module?module=${encodeURIComponent(SCRIPT)}`);
    expect(status).toBe(404);
    expect(html).not.toContain(SCRIPT);
  });

  test('a token name is escaped in the list and in the notice after revoking it', async () => {
    const created = await ui.post('/tokens', { name: IMG });
    expect(created.status).toBe(201);
    const html = await created.text();
    expect(html).not.toContain(IMG);
    const id = /action="\/tokens\/(\d+)\/revoke"/.exec(html)![1];
    expect((await ui.post(`/tokens/${id}/revoke`, {})).status).toBe(303);
    const after = await ui.page('/tokens');
    expect(after.html).toContain('Token &lt;img src=x onerror=alert(1)&gt; was revoked.');
    expect(after.html).not.toContain(IMG);
  });

  test('a notice cookie planted by someone else is shown as text', async () => {
    const res = await t.request('/', { headers: { cookie: `${ui.cookie}; orbit_flash=${encodeURIComponent(SCRIPT)}` } });
    const html = await res.text();
    expect(html).not.toContain(SCRIPT);
    expect(html).toContain(ESCAPED);
  });

  test('the sign-in form repeats `next` only as an escaped attribute', async () => {
    const next = `/"><script>alert(1)</script>`;
    const html = await (await t.request(`/login?next=${encodeURIComponent(next)}`)).text();
    expect(html).not.toContain('<script>alert(1)');
    expect(html).toContain('value="/&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
  });
});
