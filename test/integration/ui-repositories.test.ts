import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { ADMIN_PASSWORD, startTestApp, type TestApp } from '../support/app';
import { HANG_LIMIT_MS } from '../support/limits';
import { freshVerifierKey } from '../support/sumdb-key';
import { signIn, type UiClient } from './ui-helpers';

/** The text of the error shown beside a field (`<p class="field-error" id="{field}-error">`), or null. */
function fieldError(html: string, field: string): string | null {
  const m = new RegExp(`id="${field}-error">([^<]*)<`).exec(html);
  return m ? m[1] : null;
}

describe('web UI repository pages', () => {
  let t: TestApp;
  let ui: UiClient;
  beforeAll(async () => {
    t = await startTestApp();
    ui = await signIn(t, 'admin', ADMIN_PASSWORD);
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await t?.close();
  });

  const view = async (name: string) => (await t.api('GET', `/repositories/${name}`)).json();

  test('the create form follows the docs: Format with Go, Type, Name, Remote URL for proxies, each labelled', async () => {
    const { status, html } = await ui.page('/repositories/new');
    expect(status).toBe(200);
    expect(html).toContain('<label for="format">Format</label>');
    expect(html).toContain('<option value="go" selected>Go</option>');
    for (const type of ['hosted', 'proxy', 'group']) expect(html).toContain(`<option value="${type}"`);
    expect(html).toContain('<label for="name">Name</label>');
    expect(html).toMatch(/data-show-for="proxy">\s*<label for="remoteUrl">Remote URL<\/label>/);
    expect(html).toContain('<label for="anonymousRead">Anonymous read</label>');
    expect(html).toContain('<label for="writePolicy">Write policy</label>');
  });

  test('a hosted repository is created and the list shows its GOPROXY URL to copy', async () => {
    const res = await ui.post('/repositories', {
      format: 'go',
      type: 'hosted',
      name: 'internal',
      description: 'ours',
      writePolicy: 'allow',
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/repositories/internal');
    expect(await view('internal')).toMatchObject({ type: 'hosted', writePolicy: 'allow', anonymousRead: false, description: 'ours' });
    // The notice of the POST is shown once, on the next page only.
    expect((await ui.page('/repositories/internal')).html).toContain('Repository internal was created.');
    const { html } = await ui.page('/');
    expect(html).not.toContain('was created');
    expect(html).toContain('value="http://orbit.test/go/internal/"');
    expect(html).toContain('data-copy="goproxy-0"');
  });

  test('a proxy repository is created with its remote URL and upstream username; the password is never echoed', async () => {
    const res = await ui.post('/repositories', {
      format: 'go',
      type: 'proxy',
      name: 'upstream',
      remoteUrl: 'https://goproxy.invalid/',
      upstreamUsername: 'bot',
      upstreamPassword: 'hunter2',
      anonymousRead: 'on',
      writePolicy: 'allow_once',
    });
    expect(res.status).toBe(303);
    expect(await view('upstream')).toMatchObject({
      remoteUrl: 'https://goproxy.invalid',
      anonymousRead: true,
      settings: { upstreamUsername: 'bot', upstreamPasswordSet: true },
    });
    const { html } = await ui.page('/repositories/upstream/edit');
    expect(html).not.toContain('hunter2');
    expect(html).toContain('A password is stored; leave this empty to keep it.');
  });

  test('a proxy repository takes its checksum settings from the form, shows them on edit, and a bad pattern is refused beside its field', async () => {
    const res = await ui.post('/repositories', {
      format: 'go',
      type: 'proxy',
      name: 'private-mirror',
      remoteUrl: 'https://goproxy.invalid/',
      checksumVerification: 'sumdb',
      noSumdbPatterns: 'corp.example/*, github.com/acme/private',
      writePolicy: 'allow_once',
    });
    expect(res.status).toBe(303);
    expect((await view('private-mirror')).settings).toMatchObject({
      checksumVerification: 'sumdb',
      noSumdbPatterns: 'corp.example/*, github.com/acme/private',
    });
    const { html } = await ui.page('/repositories/private-mirror/edit');
    expect(html).toContain('value="corp.example/*, github.com/acme/private"');
    expect(html).toMatch(/<option value="sumdb" selected>/);

    const bad = await ui.post('/repositories/private-mirror/edit', {
      type: 'proxy',
      remoteUrl: 'https://goproxy.invalid',
      checksumVerification: 'sumdb',
      noSumdbPatterns: 'corp[.example',
    });
    expect(bad.status).toBe(400);
    expect(fieldError(await bad.text(), 'noSumdbPatterns')).toContain('malformed');

    // Off, and the patterns emptied: the setting is cleared, not kept.
    const off = await ui.post('/repositories/private-mirror/edit', {
      type: 'proxy',
      remoteUrl: 'https://goproxy.invalid',
      checksumVerification: 'off',
      noSumdbPatterns: '',
    });
    expect(off.status).toBe(303);
    const settings = (await view('private-mirror')).settings;
    expect(settings.checksumVerification).toBe('off');
    expect(settings.noSumdbPatterns).toBeUndefined();
    expect((await ui.page('/repositories/private-mirror/edit')).html).toMatch(/<option value="off" selected>/);
  });

  test("a proxy repository's own checksum database (GOSUMDB syntax) is set, shown, refused beside its field when malformed, and cleared", async () => {
    const key = await freshVerifierKey('sum.example');
    const db = `${key} https://sum.example/db`;
    const res = await ui.post('/repositories', {
      format: 'go',
      type: 'proxy',
      name: 'keyed-mirror',
      remoteUrl: 'https://goproxy.invalid/',
      checksumVerification: 'sumdb',
      gosumdb: db,
      writePolicy: 'allow_once',
    });
    expect(res.status).toBe(303);
    expect((await view('keyed-mirror')).settings.gosumdb).toBe(db);
    expect((await ui.page('/repositories/keyed-mirror/edit')).html).toContain(`value="${db}"`);

    const edit = (gosumdb: string) =>
      ui.post('/repositories/keyed-mirror/edit', {
        type: 'proxy',
        remoteUrl: 'https://goproxy.invalid',
        checksumVerification: 'sumdb',
        gosumdb,
      });
    const bad = await edit(`sum.example+00000000+${key.slice(key.indexOf('+', key.indexOf('+') + 1) + 1)}`);
    expect(bad.status).toBe(400);
    expect(fieldError(await bad.text(), 'gosumdb')).toContain('does not match its name and key');
    expect((await view('keyed-mirror')).settings.gosumdb).toBe(db);

    expect((await edit('')).status).toBe(303);
    expect((await view('keyed-mirror')).settings.gosumdb).toBeUndefined();
  });

  test('a group takes its ticked members in the order of their position inputs', async () => {
    const res = await ui.post('/repositories', {
      format: 'go',
      type: 'group',
      name: 'all',
      members: ['internal', 'upstream'],
      'position:internal': '2',
      'position:upstream': '1',
      writePolicy: 'allow_once',
    });
    expect(res.status).toBe(303);
    expect((await view('all')).members).toEqual(['upstream', 'internal']);
  });

  test.each([
    ['an invalid name', { type: 'hosted', name: 'Bad Name' }, 'name', 'is invalid'],
    ['a taken name', { type: 'hosted', name: 'internal' }, 'name', 'already exists'],
    ['a proxy without a remote URL', { type: 'proxy', name: 'p1' }, 'remoteUrl', 'needs remoteUrl'],
    ['a proxy with an ftp remote URL', { type: 'proxy', name: 'p2', remoteUrl: 'ftp://x.invalid/' }, 'remoteUrl', 'http or https'],
    ['an unknown format', { type: 'hosted', name: 'n1', format: 'npm' }, 'format', 'format must be'],
    ['an unknown type', { type: 'mirror', name: 'n2' }, 'type', 'type must be'],
    ['an unknown write policy', { type: 'hosted', name: 'n3', writePolicy: 'sometimes' }, 'writePolicy', 'writePolicy must be'],
  ])('creating with %s shows the refusal beside its field and keeps what was typed', async (_, fields, field, message) => {
    const res = await ui.post('/repositories', { format: 'go', writePolicy: 'allow_once', ...fields });
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(fieldError(html, field)).toContain(message);
    expect(html).toContain(`aria-describedby`);
    expect(html).toContain(`value="${fields.name}"`);
  });

  test('a group member that would make a cycle is refused beside Members', async () => {
    await ui.post('/repositories', { format: 'go', type: 'group', name: 'outer', members: ['all'], writePolicy: 'allow_once' });
    const res = await ui.post('/repositories/all/edit', { type: 'group', members: ['outer'], writePolicy: 'allow_once' });
    expect(res.status).toBe(400);
    expect(fieldError(await res.text(), 'members')).toContain('would contain itself');
  });

  test('the edit form saves description, anonymous read and remote URL', async () => {
    const res = await ui.post('/repositories/upstream/edit', {
      type: 'proxy',
      description: 'mirror',
      remoteUrl: 'https://other.invalid',
      upstreamUsername: 'bot',
      writePolicy: 'allow_once',
    });
    expect(res.status).toBe(303);
    expect(await view('upstream')).toMatchObject({
      description: 'mirror',
      anonymousRead: false,
      remoteUrl: 'https://other.invalid',
      settings: { upstreamPasswordSet: true },
    });
  });

  test('an edit form holds only the fields of its own type', async () => {
    const proxy = (await ui.page('/repositories/upstream/edit')).html;
    expect(proxy).toContain('id="remoteUrl"');
    expect(proxy).not.toContain('id="members"');
    expect(proxy).not.toContain('id="writePolicy"');
    const group = (await ui.page('/repositories/all/edit')).html;
    expect(group).toContain('id="members"');
    expect(group).not.toContain('id="remoteUrl"');
    const hosted = (await ui.page('/repositories/internal/edit')).html;
    expect(hosted).toContain('id="writePolicy"');
    expect(hosted).not.toContain('id="remoteUrl"');
  });

  test('deleting asks on a page of its own, and a member of a group cannot go until the group lets it', async () => {
    const confirm = await ui.page('/repositories/internal/delete');
    expect(confirm.html).toContain('Delete repository internal?');
    const refused = await ui.post('/repositories/internal/delete', {});
    expect(refused.status).toBe(409);
    expect(await refused.text()).toContain('is a member of group');
    expect((await ui.post('/repositories/outer/delete', {})).status).toBe(303);
    expect((await t.api('GET', '/repositories/outer')).status).toBe(404);
  });

  test('namespaces and proxy path rules are edited in the form, a bad glob is refused beside its field, and a missing field is left alone', async () => {
    expect((await ui.page('/repositories/internal/edit')).html).toContain('<label for="namespaces">');
    const bad = await ui.post('/repositories/internal/edit', { type: 'hosted', writePolicy: 'allow', namespaces: 'corp.example/[z-a]' });
    expect(bad.status).toBe(400);
    expect(fieldError(await bad.text(), 'namespaces')).toContain('runs backwards');
    const ok = await ui.post('/repositories/internal/edit', {
      type: 'hosted',
      writePolicy: 'allow',
      namespaces: 'corp.example, github.com/myorg/*',
    });
    expect(ok.status).toBe(303);
    expect((await view('internal')).namespaces).toEqual(['corp.example', 'github.com/myorg/*']);
    expect((await ui.page('/repositories/internal/edit')).html).toContain('value="corp.example, github.com/myorg/*"');
    // A form without the field (an older page) keeps the namespaces.
    expect((await ui.post('/repositories/internal/edit', { type: 'hosted', writePolicy: 'allow' })).status).toBe(303);
    expect((await view('internal')).namespaces).toEqual(['corp.example', 'github.com/myorg/*']);

    const rules = await ui.post('/repositories/upstream/edit', {
      type: 'proxy',
      remoteUrl: 'https://goproxy.invalid',
      upstreamUsername: 'bot',
      includePaths: 'github.com/*',
      excludePaths: 'corp.example',
    });
    expect(rules.status).toBe(303);
    expect(await view('upstream')).toMatchObject({ includePaths: ['github.com/*'], excludePaths: ['corp.example'] });
    const badRule = await ui.post('/repositories/upstream/edit', {
      type: 'proxy',
      remoteUrl: 'https://goproxy.invalid',
      upstreamUsername: 'bot',
      excludePaths: 'corp\\',
    });
    expect(badRule.status).toBe(400);
    expect(fieldError(await badRule.text(), 'excludePaths')).toContain('escapes nothing');
  });

  test("a group's setup snippet names its hosted members' real namespaces for GONOSUMDB, never a placeholder", async () => {
    const { html } = await ui.page('/repositories/all');
    expect(html).toContain('export GONOSUMDB=corp.example,github.com/myorg/*');
    expect(html).not.toContain('yourorg');
  });

  test('a repository page shows the GOPROXY line with a token placeholder, the .netrc line and GONOSUMDB', async () => {
    const { html } = await ui.page('/repositories/internal');
    expect(html).toContain('export GOPROXY=http://USERNAME:TOKEN@orbit.test/go/internal/');
    expect(html).toContain('machine orbit.test login USERNAME password TOKEN');
    expect(html).toContain('export GONOSUMDB=corp.example,github.com/myorg/*');
    expect(html).toContain('id="upload-form"');
    expect(html).toContain('data-endpoint="/go/internal/"');
  });

  test('an unknown repository is a 404 page, not an error', async () => {
    const { status, html } = await ui.page('/repositories/nope');
    expect(status).toBe(404);
    expect(html).toContain('repository &quot;nope&quot; does not exist');
  });

  describe('for a user who is not an administrator', () => {
    let bob: UiClient;
    beforeAll(async () => {
      await t.api('POST', '/users', { username: 'bob', password: 'bob-pw-123' });
      await t.api('PUT', '/repositories/internal/permissions/bob', { role: 'read' });
      bob = await signIn(t, 'bob', 'bob-pw-123');
    }, HANG_LIMIT_MS);

    test('the list shows only what they may read, and no Create Repository', async () => {
      const { html } = await bob.page('/');
      expect(html).toContain('>internal<');
      expect(html).not.toContain('>all<');
      expect(html).not.toContain('Create Repository');
      expect(html).not.toContain('href="/users"');
    });

    test('creating a repository or opening the users page is refused with 403', async () => {
      expect((await bob.post('/repositories', { format: 'go', type: 'hosted', name: 'bobs' })).status).toBe(403);
      expect((await bob.page('/users')).status).toBe(403);
    });

    test('with read access there is no upload form and no delete button', async () => {
      const { html } = await bob.page('/repositories/internal');
      expect(html).not.toContain('id="upload-form"');
    });
  });
});
