import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { ADMIN_AUTH, ADMIN_PASSWORD, startTestApp, type TestApp } from '../support/app';
import { HANG_LIMIT_MS } from '../support/limits';
import { buildModuleZip } from '../support/zipbuild';
import { signIn, type UiClient } from './ui-helpers';

const APP = 'example.com/acme/app';
const DEP = 'example.com/acme/dep';
const BIG = 'example.com/acme/big';
const HOSTILE_README = `# App

Use it <script>alert('readme')</script> carefully.

<img src="x" onerror="alert('img')">

[click](javascript:alert('link')) [guide](docs/guide.md) [site](https://example.com/app)

![logo](logo.png)
`;
// The go command reads retractions and the deprecation from @latest's go.mod: the highest release, not a newer pre-release.
const NEWEST_GOMOD = `// Deprecated: use example.com/acme/app/v2 instead.
module ${APP}

go 1.22

require (
	${DEP} v1.0.0
	example.com/elsewhere v0.1.0 // indirect
)

retract v1.0.0 // broken <b>build</b>
`;

describe('web UI module page: badges, go.sum lines, requirements', () => {
  let t: TestApp;
  let ui: UiClient;
  const h1 = new Map<string, { h1: string; goModH1: string }>();
  const page = (version?: string) =>
    `/repositories/internal/module?module=${encodeURIComponent(APP)}${version ? `&version=${version}` : ''}`;

  beforeAll(async () => {
    t = await startTestApp();
    ui = await signIn(t, 'admin', ADMIN_PASSWORD);
    await t.api('POST', '/repositories', { name: 'internal', type: 'hosted' });
    for (const [m, v, gomod, readme] of [
      [DEP, 'v1.0.0', `module ${DEP}\n\ngo 1.22\n`],
      [APP, 'v1.0.0', `module ${APP}\n\ngo 1.22\n`],
      [APP, 'v1.1.0', NEWEST_GOMOD, HOSTILE_README],
      [BIG, 'v1.0.0', `module ${BIG}\n\ngo 1.22\n`, `# Big\n\n${'word '.repeat(60_000)}`],
      [APP, 'v1.2.0-rc.1', `module ${APP}\n\ngo 1.22\n`],
    ]) {
      const zip = buildModuleZip(m, v, { 'go.mod': gomod, 'a.go': 'package a\n', ...(readme ? { 'README.md': readme } : {}) });
      const res = await t.request(`/go/internal/${m}/@v/${v}.zip`, { method: 'PUT', auth: ADMIN_AUTH, body: new Uint8Array(zip) });
      expect(res.status).toBe(201);
    }
    const versions = await (await t.api('GET', `/repositories/internal/modules/versions?module=${encodeURIComponent(APP)}`)).json();
    for (const v of versions) h1.set(v.version, v);
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await t?.close();
  });

  test('the deprecation in the go.mod of @latest is shown above everything', async () => {
    const { html } = await ui.page(page());
    expect(html).toContain('<span class="badge deprecated">deprecated</span> use example.com/acme/app/v2 instead.');
  });

  test('versions carry latest (retracted ones left out), pre-release and retracted badges, the rationale escaped', async () => {
    const { html } = await ui.page(page());
    expect(html).toMatch(/>v1\.1\.0<\/a> <span class="badge latest">latest<\/span>/);
    expect(html).toMatch(/>v1\.2\.0-rc\.1<\/a> <span class="badge prerelease">pre-release<\/span>/);
    expect(html).toMatch(/>v1\.0\.0<\/a> <span class="badge retracted" title="broken &lt;b&gt;build&lt;\/b&gt;">retracted<\/span>/);
    expect(html).not.toContain('<b>build</b>');
  });

  test('a retracted version says so, with its rationale', async () => {
    const { html } = await ui.page(page('v1.0.0'));
    expect(html).toContain('data-retracted="v1.0.0"');
    expect(html).toContain("Retracted by the module's authors: broken &lt;b&gt;build&lt;/b&gt;");
    expect((await ui.page(page('v1.1.0'))).html).not.toContain('data-retracted');
  });

  test('the two go.sum lines of the shown version come with a copy button', async () => {
    const { html } = await ui.page(page('v1.1.0'));
    const { h1: zip, goModH1 } = h1.get('v1.1.0')!;
    expect(html).toContain(
      `<pre id="go-sum" aria-labelledby="go-sum-label" tabindex="0">${APP} v1.1.0 ${zip}\n${APP} v1.1.0/go.mod ${goModH1}</pre>`,
    );
    expect(html).toContain('data-copy="go-sum"');
  });

  test('requirements link to the modules this server holds, and only those', async () => {
    const { html } = await ui.page(page('v1.1.0'));
    expect(html).toContain(
      `<a href="/repositories/internal/module?module=${encodeURIComponent(DEP)}&amp;version=v1.0.0">${DEP}</a> v1.0.0`,
    );
    expect(html).toContain('example.com/elsewhere v0.1.0</span> <span class="muted">indirect</span>');
    expect(html).not.toContain('module=example.com%2Felsewhere');
  });

  test('the README of @latest is rendered as Markdown with its hostile markup left as text', async () => {
    const { html } = await ui.page(page());
    const readme = html.slice(html.indexOf('<div class="readme" data-readme>'), html.indexOf('</section>', html.indexOf('data-readme')));
    expect(html).toContain('<h2 id="readme-h">README.md <span class="muted">(v1.1.0)</span></h2>');
    expect(readme).toContain('<h1>App</h1>');
    expect(readme).not.toMatch(/<script|<img|onerror="|href="javascript/i);
    expect(readme).toContain('&lt;script&gt;');
    expect(readme).toContain('<a href="https://example.com/app" rel="nofollow noopener noreferrer">site</a>');
    expect(readme).not.toContain('docs/guide.md');
    expect(readme).toContain('<span class="muted">[logo]</span>');
  });

  test('a module without a README shows none, and a huge one shows its start and says so', async () => {
    expect((await ui.page(`/repositories/internal/module?module=${encodeURIComponent(DEP)}`)).html).not.toContain('data-readme');
    const { html } = await ui.page(`/repositories/internal/module?module=${encodeURIComponent(BIG)}`);
    expect(html).toContain('<h1>Big</h1>');
    expect(html).toContain('Only the first 256 KiB of the README are shown.');
  });
});
