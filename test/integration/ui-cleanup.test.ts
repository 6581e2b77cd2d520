import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { formatSize } from '../../src/http/ui/pages/repository';
import { ADMIN_AUTH, ADMIN_PASSWORD, startTestApp, type TestApp } from '../support/app';
import { testDatabaseKinds } from '../support/db';
import { HANG_LIMIT_MS } from '../support/limits';
import { buildModuleZip } from '../support/zipbuild';
import { signIn, type UiClient } from './ui-helpers';

const M = 'example.com/tidy/lib';

describe.each(testDatabaseKinds())('cleanup policies in the web UI on %s', (dbKind) => {
  let t: TestApp;
  let admin: UiClient;
  let dev: UiClient;
  const list = async () =>
    (await (await t.request(`/go/tidy/${M}/@v/list`, { auth: ADMIN_AUTH })).text()).split('\n').filter(Boolean).sort();
  const policy = async () => (await t.api('GET', '/repositories/tidy/cleanup-policy')).json();

  beforeAll(async () => {
    t = await startTestApp({ db: dbKind });
    expect((await t.api('POST', '/repositories', { name: 'tidy', type: 'hosted' })).status).toBe(201);
    expect((await t.api('POST', '/repositories', { name: 'mirror', type: 'proxy', remoteUrl: 'http://127.0.0.1:9/' })).status).toBe(201);
    expect((await t.api('POST', '/repositories', { name: 'all', type: 'group', members: ['tidy'] })).status).toBe(201);
    for (const v of ['v1.0.0', 'v1.1.0', 'v1.2.0']) {
      const zip = buildModuleZip(M, v, { 'go.mod': `module ${M}\n`, 'a.go': `package lib // ${v}\n` });
      expect((await t.request(`/go/tidy/${M}/@v/${v}.zip`, { method: 'PUT', auth: ADMIN_AUTH, body: zip })).status).toBe(201);
    }
    await t.ctx.users.create({ username: 'dev', password: 'dev-password-1' }, { username: 'test' });
    // A repository administrator, but not a server administrator: policies are the latter's, as in the API.
    expect((await t.api('PUT', '/repositories/tidy/permissions/dev', { role: 'admin' })).status).toBe(200);
    admin = await signIn(t, 'admin', ADMIN_PASSWORD);
    dev = await signIn(t, 'dev', 'dev-password-1');
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await t?.close();
  });

  test('the repository page has the policy form for administrators: unusedDays on proxies only, none on groups or for others', async () => {
    const hosted = (await admin.page('/repositories/tidy')).html;
    expect(hosted).toContain('Cleanup policy');
    expect(hosted).toContain('name="keepVersions"');
    expect(hosted).toContain('name="keepPrereleases"');
    expect(hosted).not.toContain('name="unusedDays"');
    expect(hosted).toContain('No rules: nothing is removed.');
    expect((await admin.page('/repositories/mirror')).html).toContain('name="unusedDays"');
    expect((await admin.page('/repositories/all')).html).not.toContain('Cleanup policy');
    expect((await dev.page('/repositories/tidy')).html).not.toContain('Cleanup policy');
  });

  test('saving a policy leads to its dry run: what would go, why and its size, and nothing is removed', async () => {
    const saved = await admin.post('/repositories/tidy/cleanup-policy', { keepVersions: '1', keepPrereleases: '' });
    expect(saved.status).toBe(303);
    expect(saved.headers.get('location')).toEndWith('/repositories/tidy/cleanup');
    expect(await policy()).toMatchObject({ keepVersions: 1, keepPrereleases: null, updatedBy: 'admin' });

    const dry = await admin.page('/repositories/tidy/cleanup');
    expect(dry.status).toBe(200);
    const expected = await t.ctx.cleanup.run(await t.ctx.repositories.rowByName('tidy'), { dryRun: true });
    expect(expected.versions.map((v) => v.version)).toEqual(['v1.1.0', 'v1.0.0']);
    expect(dry.html).toContain(`Dry run: 2 versions (${formatSize(expected.bytes)}) would be removed`);
    for (const v of expected.versions) expect(dry.html).toContain(`${M}@${v.version}`);
    expect(dry.html).toContain('beyond the newest N versions');
    for (const v of expected.versions) expect(dry.html).toContain(`<td class="num">${formatSize(v.size)}</td>`);
    expect(dry.html).toContain('The cleanup policy was saved.');
    expect(await list()).toEqual(['v1.0.0', 'v1.1.0', 'v1.2.0']);
  });

  test('running it removes what the dry run listed, says how much, and leaves tombstones', async () => {
    const res = await admin.post('/repositories/tidy/cleanup', {});
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toEndWith('/repositories/tidy');
    const after = (await admin.page('/repositories/tidy')).html;
    expect(after).toContain('The cleanup removed 2 versions (');
    expect(after).toContain('Deleted versions');
    expect(await list()).toEqual(['v1.2.0']);
    const summary = await (await t.api('GET', '/audit?action=cleanup.run&repository=tidy')).json();
    expect(summary.entries[0]).toMatchObject({ actor: 'admin', details: { removed: 2 } });
  });

  test.each([
    ['0', 'keepVersions must be a whole number from 1 to 100000'],
    ['two', 'keepVersions must be a whole number from 1 to 100000'],
  ])('a bad number (%p) is a 400 with the reason beside the field, and the policy stays', async (value, reason) => {
    const before = await policy();
    const res = await admin.post('/repositories/tidy/cleanup-policy', { keepVersions: value, keepPrereleases: '' });
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain(reason);
    expect(html).toMatch(/id="cleanup-keepVersions-error"/);
    expect(await policy()).toEqual(before);
  });

  test('emptying every rule removes the policy', async () => {
    const res = await admin.post('/repositories/tidy/cleanup-policy', { keepVersions: '', keepPrereleases: '' });
    expect(res.status).toBe(303);
    expect(await policy()).toMatchObject({ keepVersions: null, keepPrereleases: null, unusedDays: null, updatedAt: null });
  });

  test('without the form token, or by anyone but a server administrator, nothing happens (403)', async () => {
    expect((await admin.post('/repositories/tidy/cleanup-policy', { keepVersions: '1' }, { csrf: null })).status).toBe(403);
    expect((await admin.post('/repositories/tidy/cleanup', {}, { csrf: 'forged' })).status).toBe(403);
    expect((await dev.post('/repositories/tidy/cleanup-policy', { keepVersions: '1' })).status).toBe(403);
    expect((await dev.post('/repositories/tidy/cleanup', {})).status).toBe(403);
    expect((await dev.page('/repositories/tidy/cleanup')).status).toBe(403);
    expect((await policy()).keepVersions).toBeNull();
  });
});
