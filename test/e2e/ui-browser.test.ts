import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Elysia } from 'elysia';
import type { Page } from 'playwright-core';
import { loadConfig } from '../../src/config';
import { silentLogger } from '../../src/log';
import { createOrbitRepos, type OrbitRepos } from '../../src/plugin';
import { basic } from '../support/app';
import { launchBrowser, type TestBrowser } from '../support/browser';
import { buildModuleZip } from '../support/zipbuild';

const PASSWORD = 'ui-e2e-admin-pw';
const PREFIX = '/artifacts';
const MODULE = 'example.com/acme/hello';
// The committed screenshots change only when asked for; an ordinary run leaves the work tree clean.
const SCREENSHOTS = join(
  import.meta.dir,
  '../..',
  process.env.ORBITREPO_UPDATE_SCREENSHOTS === '1' ? 'docs/screenshots' : 'test-output/screenshots',
);

/**
 * The web UI in a real chromium against a real server on 127.0.0.1, mounted under a prefix so that
 * any link or form action missing it breaks the walk-through.
 */
describe('the web UI in a browser', () => {
  let dir: string;
  let orbit: OrbitRepos;
  let server: ReturnType<Elysia['listen']>;
  let base: string;
  let browser: TestBrowser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'orbit-ui-e2e-'));
    const config = loadConfig({
      ORBITREPO_HOST: '127.0.0.1',
      ORBITREPO_PORT: '0',
      ORBITREPO_DATA_DIR: dir,
      ORBITREPO_ADMIN_PASSWORD: PASSWORD,
    });
    orbit = await createOrbitRepos({ config, log: silentLogger, prefix: PREFIX });
    server = new Elysia().use(orbit.plugin).listen({ hostname: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${server.server!.port}`;
    browser = await launchBrowser({ viewport: { width: 1100, height: 760 } });
    page = await browser.context.newPage();
    page.setDefaultTimeout(15_000);
    // Console errors include CSP violations: an inline script or a stray external asset shows up here.
    // Refusals the walk-through provokes on purpose (wrong password, invalid zip) log as failed loads.
    const expected = /Failed to load resource: the server responded with a status of (400|401|409)/;
    page.on('console', (m) => m.type() === 'error' && !expected.test(m.text()) && problems.push(`console: ${m.text()}`));
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('request', (r) => !r.url().startsWith(base) && problems.push(`request outside the server: ${r.url()}`));
    page.on('dialog', (d) => d.accept());
    mkdirSync(SCREENSHOTS, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop(true);
    await orbit?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const shot = (name: string) => page.screenshot({ path: join(SCREENSHOTS, name), fullPage: false });

  async function createRepository(fill: () => Promise<void>): Promise<void> {
    await page.goto(`${base}${PREFIX}/`);
    await page.getByRole('link', { name: 'Create Repository' }).click();
    await page.getByLabel('Format').selectOption('go');
    await fill();
  }

  test('signing in leads from the sign-in form to the repository list', async () => {
    await page.goto(`${base}${PREFIX}/`);
    expect(page.url()).toContain(`${PREFIX}/login`);
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill('wrong-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('invalid username or password');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Repositories' }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`${PREFIX}/`);
  });

  test('a hosted repository is created through the form as the docs walk it', async () => {
    await createRepository(async () => {
      await page.getByLabel('Type').selectOption('hosted');
      await expect(page.getByLabel('Remote URL').isVisible()).resolves.toBe(false);
      await page.getByLabel('Name', { exact: true }).fill('internal');
      await page.getByLabel('Description').fill('Our own modules & <tools>');
      await page.getByRole('button', { name: 'Create' }).click();
    });
    await page.getByRole('heading', { name: /internal/ }).waitFor();
    expect(await page.getByRole('status').first().textContent()).toContain('Repository internal was created');
    // The description is shown as text, never as markup.
    expect(await page.locator('main').textContent()).toContain('Our own modules & <tools>');
    expect(await page.getByLabel('GOPROXY URL').inputValue()).toBe(`${base}${PREFIX}/go/internal/`);
  });

  test('a proxy repository shows Remote URL, refuses a bad one beside the field, then is created', async () => {
    await createRepository(async () => {
      await page.getByLabel('Type').selectOption('proxy');
      await page.getByLabel('Remote URL').waitFor({ state: 'visible' });
      expect(await page.getByLabel('Anonymous read').isChecked()).toBe(true);
      await page.getByLabel('Name', { exact: true }).fill('upstream');
      await page.getByLabel('Remote URL').fill('ftp://mirror.invalid/');
      await page.getByRole('button', { name: 'Create' }).click();
    });
    const error = page.locator('#remoteUrl-error');
    expect(await error.textContent()).toContain('remoteUrl must be an http or https URL');
    expect(await page.getByLabel('Name', { exact: true }).inputValue()).toBe('upstream');
    // A loopback port nobody listens on: the test never fetches through it.
    await page.getByLabel('Remote URL').fill('http://127.0.0.1:9/');
    await shot('create-repository.png');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('heading', { name: /upstream/ }).waitFor();
    expect(await page.locator('main').textContent()).toContain('Proxies http://127.0.0.1:9');
  });

  test('a group repository is created with its members in the order given', async () => {
    await createRepository(async () => {
      await page.getByLabel('Type').selectOption('group');
      await page.getByLabel('Name', { exact: true }).fill('all');
      const members = page.locator('#members');
      await members.getByLabel(/^upstream/).check();
      await members.locator('input[name="position:upstream"]').fill('2');
      await members.getByLabel(/^internal/).check();
      await members.locator('input[name="position:internal"]').fill('1');
      await page.getByRole('button', { name: 'Create' }).click();
    });
    await page.getByRole('heading', { name: 'Members' }).waitFor();
    expect(await page.locator('main ol li').allTextContents()).toEqual(['internal', 'upstream']);
    await page.getByRole('link', { name: 'Repositories' }).first().click();
    await shot('repositories.png');
  });

  test('a group can be created with the keyboard alone: arrows, Tab, Space, digits and Enter', async () => {
    await page.goto(`${base}${PREFIX}/repositories/new`);
    const firstMember = (await page.locator('label[for="member-0"]').textContent())!.trim().split(/\s+/)[0];
    await page.getByLabel('Type').focus();
    await page.keyboard.press('ArrowDown'); // proxy
    await page.keyboard.press('ArrowDown'); // group
    await page.keyboard.press('Tab');
    await page.keyboard.type('by-keys');
    await page.keyboard.press('Tab'); // Description; the proxy-only fields are hidden and skipped
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('member-0');
    await page.keyboard.press('Space');
    await page.keyboard.press('Tab');
    await page.keyboard.type('1');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Members' }).waitFor();
    expect(await page.locator('main ol li').allTextContents()).toEqual([firstMember]);
  });

  test('a module zip uploads with progress and its version and go.mod appear', async () => {
    await page.goto(`${base}${PREFIX}/repositories/internal`);
    const zip = buildModuleZip(MODULE, 'v1.0.0', { 'go.mod': `module ${MODULE}\n\ngo 1.21\n`, 'hello.go': 'package hello\n' });
    await page.getByLabel('Module path').fill(MODULE);
    await page.getByLabel('Version', { exact: true }).fill('v1.0.0');
    await page.getByLabel('Module zip').setInputFiles({ name: 'hello.zip', mimeType: 'application/zip', buffer: Buffer.from(zip) });
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.waitForURL(/\/module\?module=/);
    await page.getByRole('heading', { name: MODULE, exact: true }).waitFor();
    expect(await page.locator('#gomod').textContent()).toContain(`module ${MODULE}`);
    expect(await page.getByLabel('Add it to a module').inputValue()).toBe(`go get ${MODULE}@v1.0.0`);
    expect(await page.locator('table').textContent()).toContain('v1.0.0');
    expect(await page.locator('table').textContent()).toMatch(/h1:[A-Za-z0-9+/]+=/);
    await shot('module-versions.png');
  });

  test('an invalid zip is refused and the server says why next to the file field', async () => {
    await page.goto(`${base}${PREFIX}/repositories/internal`);
    // A valid zip, but of another module: the server must name both.
    const zip = buildModuleZip('example.com/acme/other', 'v1.1.0', { 'go.mod': 'module example.com/acme/other\n' });
    await page.getByLabel('Module path').fill(MODULE);
    await page.getByLabel('Version', { exact: true }).fill('v1.1.0');
    await page.getByLabel('Module zip').setInputFiles({ name: 'other.zip', mimeType: 'application/zip', buffer: Buffer.from(zip) });
    await page.getByRole('button', { name: 'Upload' }).click();
    const error = page.locator('#upload-error');
    await error.waitFor({ state: 'visible' });
    expect(await error.textContent()).toContain('example.com/acme/other');
    expect(page.url()).toContain('/repositories/internal');

    await page
      .getByLabel('Module zip')
      .setInputFiles({ name: 'junk.zip', mimeType: 'application/zip', buffer: Buffer.from('not a zip at all') });
    await page.getByLabel('Version', { exact: true }).fill('v1.2.0');
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.waitForFunction(() => {
      const text = document.querySelector('#upload-error')?.textContent ?? '';
      return text !== '' && !text.includes('example.com/acme/other');
    });
    expect(await error.textContent()).toMatch(/zip/i);
  });

  test('the module list searches by path prefix', async () => {
    await page.goto(`${base}${PREFIX}/repositories/internal`);
    await page.getByLabel('Search modules by path prefix').fill('example.com/acme/h');
    await page.getByRole('button', { name: 'Search' }).click();
    expect(await page.getByRole('link', { name: MODULE }).count()).toBe(1);
    await page.getByLabel('Search modules by path prefix').fill('nothing.example');
    await page.getByRole('button', { name: 'Search' }).click();
    expect(await page.locator('main').textContent()).toContain('No module path starts with');
  });

  test('a developer finds a module from the header search, reads its README with hostile markup as text, and pages to a retracted version', async () => {
    const WIDGET = 'example.com/acme/widget';
    const put = async (version: string, files: Record<string, string>) => {
      const zip = buildModuleZip(WIDGET, version, { 'go.mod': `module ${WIDGET}\n\ngo 1.22\n`, 'w.go': 'package widget\n', ...files });
      const res = await fetch(`${base}${PREFIX}/go/internal/${WIDGET}/@v/${version}.zip`, {
        method: 'PUT',
        headers: { authorization: basic('admin', PASSWORD) },
        body: new Uint8Array(zip),
      });
      expect(res.status).toBe(201);
    };
    // 55 versions before v1.0.0: the table shows 50 a page, so v0.1.0 is on the second.
    for (let minor = 1; minor <= 55; minor++) await put(`v0.${minor}.0`, {});
    await put('v1.0.0', {
      'go.mod': `module ${WIDGET}\n\ngo 1.22\n\nretract v0.1.0 // leaks secrets into logs\n`,
      'README.md': [
        '# Widget',
        '',
        'Widgets for everyone. <script>window.__readmeXss = "script"</script>',
        '',
        '<img src="x" onerror="window.__readmeXss = \'img\'">',
        '',
        "[run me](javascript:window.__readmeXss='link') and [the guide](docs/guide.md)",
        '',
      ].join('\n'),
    });

    await page.goto(`${base}${PREFIX}/`);
    await page.getByLabel('Search modules').fill('widget');
    await page.getByLabel('Search modules').press('Enter');
    await page.waitForURL(/\/search\?q=widget/);
    await shot('search.png');
    await page.getByRole('link', { name: WIDGET }).click();
    await page.getByRole('heading', { name: WIDGET, exact: true }).waitFor();

    const readme = page.locator('[data-readme]');
    expect(await readme.locator('h1').textContent()).toBe('Widget');
    expect(await readme.textContent()).toContain('<script>window.__readmeXss = "script"</script>');
    expect(await readme.locator('script, img, [onerror]').count()).toBe(0);
    expect(await readme.locator('a[href^="javascript" i]').count()).toBe(0);
    expect(await readme.getByText('the guide').getAttribute('href')).toBeNull();
    expect(await page.evaluate(() => (window as { __readmeXss?: string }).__readmeXss)).toBeUndefined();
    await page.locator('#readme-h').scrollIntoViewIfNeeded();
    await shot('module-page.png');

    const versions = page.locator('section[aria-labelledby="versions-h"]');
    expect(await versions.locator('tbody tr').count()).toBe(50);
    expect(await versions.locator('tbody tr').first().textContent()).toContain('latest');
    await page.getByRole('link', { name: 'Older →' }).click();
    expect(await versions.locator('tbody tr').count()).toBe(6);
    const retracted = versions.locator('tbody tr', { hasText: 'v0.1.0' });
    expect(await retracted.locator('.badge.retracted').getAttribute('title')).toBe('leaks secrets into logs');
    await retracted.getByRole('link', { name: 'v0.1.0' }).click();
    expect(await page.locator('[data-retracted]').textContent()).toContain('leaks secrets into logs');
    // Choosing a version keeps the page of the table it was chosen from.
    expect(await versions.locator('tbody tr').count()).toBe(6);
    await page.getByRole('link', { name: '← Newest' }).click();
    expect(await versions.locator('tbody tr').count()).toBe(50);
  }, 90_000);

  test('an administrator sets a cleanup policy on the repository page, reads its dry run, and runs it', async () => {
    const tidy = 'example.com/acme/tidy';
    const auth = { authorization: basic('admin', PASSWORD) };
    const created = await fetch(`${base}${PREFIX}/api/v1/repositories`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'tidy', type: 'hosted' }),
    });
    expect(created.status).toBe(201);
    for (const v of ['v1.0.0', 'v1.1.0', 'v1.2.0']) {
      const zip = buildModuleZip(tidy, v, { 'go.mod': `module ${tidy}\n`, 'a.go': `package tidy // ${v}\n` });
      const put = await fetch(`${base}${PREFIX}/go/tidy/${tidy}/@v/${v}.zip`, { method: 'PUT', headers: auth, body: zip });
      expect(put.status).toBe(201);
    }
    const list = async () =>
      (await (await fetch(`${base}${PREFIX}/go/tidy/${tidy}/@v/list`, { headers: auth })).text()).trim().split('\n').sort();

    await page.goto(`${base}${PREFIX}/repositories/tidy`);
    await page.getByLabel('Keep at most N versions of each module').fill('1');
    await page.getByRole('button', { name: 'Save policy' }).click();
    const heading = page.getByRole('heading', { name: /^Dry run: 2 versions \(.+\) would be removed$/ });
    await heading.waitFor();
    const rows = await page.locator('table').textContent();
    expect(rows).toContain(`${tidy}@v1.1.0`);
    expect(rows).toContain(`${tidy}@v1.0.0`);
    expect(rows).not.toContain(`${tidy}@v1.2.0`);
    expect(await list()).toEqual(['v1.0.0', 'v1.1.0', 'v1.2.0']);

    // The confirmation dialog is accepted (see beforeAll).
    await page.getByRole('button', { name: /^Remove 2 versions/ }).click();
    await page.getByText(/^The cleanup removed 2 versions \(.+\)\.$/).waitFor();
    expect(await list()).toEqual(['v1.2.0']);
    await page.getByRole('heading', { name: /Deleted versions/ }).waitFor();
  });

  test('a token is shown once, works for the go protocol, and stops working when revoked', async () => {
    await page.getByRole('link', { name: 'Tokens' }).click();
    await page.getByLabel('Name', { exact: true }).fill('ci');
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = await page.getByLabel('Your new token').inputValue();
    expect(secret).toMatch(/^orb_[A-Za-z0-9]{43}$/);
    const list = `${base}${PREFIX}/go/internal/${MODULE}/@v/list`;
    expect((await fetch(list, { headers: { authorization: basic('admin', secret) } })).status).toBe(200);

    await page.getByRole('button', { name: 'Revoke ci' }).click();
    await page.getByText('Token ci was revoked.').waitFor();
    expect(await page.locator('table').textContent()).toContain('revoked');
    expect(await page.locator('main').textContent()).not.toContain(secret);
    expect((await fetch(list, { headers: { authorization: basic('admin', secret) } })).status).toBe(401);
  });

  test('signing out ends the session, and the pages ask to sign in again', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.goto(`${base}${PREFIX}/tokens`);
    expect(page.url()).toContain(`${PREFIX}/login?next=`);
  });

  test('no page logged a script error, broke its content security policy, or reached past this server', () => {
    expect(problems).toEqual([]);
  });
});
