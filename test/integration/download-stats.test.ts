import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { silentLogger } from '../../src/log';
import { DownloadRecorder } from '../../src/repos/download-stats';
import { ADMIN_AUTH, ADMIN_PASSWORD, startTestApp, type TestApp } from '../support/app';
import { testDatabaseKinds } from '../support/db';
import { HANG_LIMIT_MS } from '../support/limits';
import { buildModuleZip } from '../support/zipbuild';
import { signIn } from './ui-helpers';

const M = 'example.com/stats/lib';

describe.each(testDatabaseKinds())('download statistics on %s', (dbKind) => {
  let t: TestApp;
  const zip = (repo: string, version: string, headers: Record<string, string> = {}, method = 'GET') =>
    t.request(`/go/${repo}/${M}/@v/${version}.zip`, { method, auth: ADMIN_AUTH, headers });
  const versions = async () =>
    (await (await t.api('GET', `/repositories/internal/modules/versions?module=${M}`)).json()) as {
      version: string;
      downloads: number;
      lastDownloadedAt: string | null;
    }[];
  const of = async (version: string) => (await versions()).find((v) => v.version === version)!;

  beforeAll(async () => {
    t = await startTestApp({ db: dbKind });
    expect((await t.api('POST', '/repositories', { name: 'internal', type: 'hosted' })).status).toBe(201);
    expect((await t.api('POST', '/repositories', { name: 'all', type: 'group', members: ['internal'] })).status).toBe(201);
    for (const v of ['v1.0.0', 'v1.1.0']) {
      const body = buildModuleZip(M, v, { 'go.mod': `module ${M}\n\ngo 1.22\n`, 'x.go': `package x // ${'pad'.repeat(20)}\n` });
      expect(
        (await t.request(`/go/internal/${M}/@v/${v}.zip`, { method: 'PUT', auth: ADMIN_AUTH, body: new Uint8Array(body) })).status,
      ).toBe(201);
    }
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await t?.close();
  });

  test('zip downloads are counted in memory, written in one batch, and shown per version by the modules API', async () => {
    for (let i = 0; i < 3; i++) expect((await zip('internal', 'v1.0.0')).status).toBe(200);
    expect((await zip('internal', 'v1.1.0')).status).toBe(200);
    // No database write per hit: nothing shows until the batch is written.
    expect((await of('v1.0.0')).downloads).toBe(0);
    const before = Date.now();
    await t.ctx.downloads.flush();
    const v1 = await of('v1.0.0');
    expect(v1.downloads).toBe(3);
    expect(Date.parse(v1.lastDownloadedAt!)).toBeGreaterThanOrEqual(before - 60_000);
    expect((await of('v1.1.0')).downloads).toBe(1);
  });

  test('HEAD, a 304 and a range from the middle are not downloads; a range from the first byte is', async () => {
    const etag = (await zip('internal', 'v1.1.0', {}, 'HEAD')).headers.get('etag')!;
    expect((await zip('internal', 'v1.1.0', { 'if-none-match': etag })).status).toBe(304);
    expect((await zip('internal', 'v1.1.0', { range: 'bytes=10-' })).status).toBe(206);
    expect((await zip('internal', 'v1.1.0', { range: 'bytes=0-9' })).status).toBe(206);
    await t.ctx.downloads.flush();
    expect((await of('v1.1.0')).downloads).toBe(2);
  });

  test('a zip served through a group counts for the member that stores it', async () => {
    expect((await zip('all', 'v1.0.0')).status).toBe(200);
    await t.ctx.downloads.flush();
    expect((await of('v1.0.0')).downloads).toBe(4);
  });

  test('counts still in memory are written at close', async () => {
    const repo = await t.ctx.repositories.rowByName('internal');
    const recorder = new DownloadRecorder(t.ctx.db, silentLogger, 0);
    recorder.record(repo.id, M, 'v1.1.0');
    recorder.record(repo.id, M, 'v1.1.0', Date.parse('2020-01-01T00:00:00Z'));
    const last = (await of('v1.1.0')).lastDownloadedAt;
    await recorder.close();
    const now = await of('v1.1.0');
    expect(now.downloads).toBe(4);
    // The last download time only moves forward.
    expect(Date.parse(now.lastDownloadedAt!)).toBeGreaterThanOrEqual(Date.parse(last!));
  });

  test('the module page shows each version with its downloads', async () => {
    const ui = await signIn(t, 'admin', ADMIN_PASSWORD);
    const { html } = await ui.page(`/repositories/internal/module?module=${encodeURIComponent(M)}&version=v1.0.0`);
    expect(html).toContain('<th scope="col">Downloads</th>');
    expect(html).toMatch(/<dt class="muted">Downloads<\/dt><dd>4, last \d{4}-\d\d-\d\d/);
  });
});
