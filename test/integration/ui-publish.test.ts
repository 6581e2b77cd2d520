import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPublish } from '../../src/cli/publish';
import { writeTree } from '../fixtures/module-dirs';
import { ADMIN_PASSWORD, startTestApp, type TestApp } from '../support/app';
import { HANG_LIMIT_MS } from '../support/limits';
import { signIn, type UiClient } from './ui-helpers';

describe('the web UI upload panel and the publisher', () => {
  let t: TestApp;
  let ui: UiClient;
  const dir = mkdtempSync(join(tmpdir(), 'orbit-ui-publish-'));

  beforeAll(async () => {
    t = await startTestApp();
    ui = await signIn(t, 'admin', ADMIN_PASSWORD);
    await t.api('POST', '/repositories', { name: 'internal', type: 'hosted' });
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the upload panel leads with the publisher command for this repository and shows the zip layout', async () => {
    const { html } = await ui.page('/repositories/internal');
    const command = /id="publish-command" type="text" readonly value="([^"]+)"/.exec(html)?.[1];
    expect(command).toMatch(
      /^ORBITREPO_USER=USERNAME ORBITREPO_TOKEN=TOKEN bunx orbitrepos-go publish \.\/my-module --repository internal --server http:\/\/\S+ --version v1\.2\.3$/,
    );
    expect(html.indexOf('id="publish-command"')).toBeLessThan(html.indexOf('id="upload-form"'));
    expect(html).toContain('<code>example.com/acme/tool@v1.2.3/go.mod</code>');
    expect(html).toContain('<code>zip -r -D module.zip example.com</code>');
  });

  // ui.js PUTs the chosen file's bytes as they are, with the session cookie and the CSRF header.
  test('the zip the publisher writes with --output is accepted from the upload form unchanged, with the same h1', async () => {
    const mod = join(dir, 'tool');
    writeTree(mod, { 'go.mod': 'module example.com/acme/tool\n\ngo 1.22\n', 'tool.go': 'package tool\n', '.git/HEAD': 'ref\n' });
    let err = '';
    const io = { env: {}, cwd: dir, stdout: { write: () => true }, stderr: { write: (s: string) => (err += s) } };
    expect(await runPublish([mod, '--version', 'v1.2.3', '--output', join(dir, 'module.zip')], io)).toBe(0);
    const h1 = /built example\.com\/acme\/tool@v1\.2\.3: 2 files, \d+ bytes, (h1:\S+)/.exec(err)?.[1];
    expect(h1).toBeDefined();
    const res = await t.request('/go/internal/example.com/acme/tool/@v/v1.2.3.zip', {
      method: 'PUT',
      auth: null,
      headers: { cookie: ui.cookie, 'x-csrf-token': ui.csrf, 'content-type': 'application/zip' },
      body: await Bun.file(join(dir, 'module.zip')).bytes(),
    });
    expect(res.status).toBe(201);
    expect((await res.json()).h1).toBe(h1);
  });
});
