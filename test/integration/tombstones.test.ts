import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { and, eq } from 'drizzle-orm';
import { auditLog, versionTombstones } from '../../src/db/schema';
import { ADMIN_AUTH, ADMIN_PASSWORD, basic, startTestApp, type TestApp } from '../support/app';
import { testDatabaseKinds } from '../support/db';
import { HANG_LIMIT_MS } from '../support/limits';
import { buildModuleZip } from '../support/zipbuild';
import { signIn } from './ui-helpers';

const M = 'example.com/tomb/lib';
const zipOf = (version: string, body: string, module = M) =>
  buildModuleZip(module, version, { 'go.mod': `module ${module}\n\ngo 1.22\n`, 'x.go': body }) as Uint8Array<ArrayBuffer>;

describe.each(testDatabaseKinds())('tombstones of deleted versions on %s', (dbKind) => {
  let t: TestApp;
  const put = (repo: string, version: string, body: string, module = M) =>
    t.request(`/go/${repo}/${module}/@v/${version}.zip`, { method: 'PUT', auth: ADMIN_AUTH, body: zipOf(version, body, module) });
  const del = (repo: string, version: string, module = M) =>
    t.api('DELETE', `/repositories/${repo}/modules/versions?module=${module}&version=${version}`);

  beforeAll(async () => {
    t = await startTestApp({ db: dbKind });
    expect((await t.api('POST', '/repositories', { name: 'once', type: 'hosted' })).status).toBe(201);
    expect((await t.api('POST', '/repositories', { name: 'loose', type: 'hosted', writePolicy: 'allow' })).status).toBe(201);
    await t.ctx.users.create({ username: 'dev', password: 'dev-password-1' }, { username: 'test' });
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await t?.close();
  });

  test('deleting a version under allow_once remembers its hashes, listed by the API', async () => {
    const first = await (await put('once', 'v1.0.0', 'package x // first\n')).json();
    expect((await del('once', 'v1.0.0')).status).toBe(204);
    const list = await (await t.api('GET', '/repositories/once/tombstones')).json();
    expect(list).toEqual([expect.objectContaining({ module: M, version: 'v1.0.0', h1: first.h1, deletedBy: 'admin', size: first.size })]);
    expect(list[0].goModH1).toStartWith('h1:');
  });

  test('different bytes under a deleted version are refused with 409 naming both hashes, and nothing is published', async () => {
    const [tomb] = await (await t.api('GET', '/repositories/once/tombstones')).json();
    const res = await put('once', 'v1.0.0', 'package x // second\n');
    expect(res.status).toBe(409);
    const message = await res.text();
    expect(message).toContain(tomb.h1);
    expect(message).toMatch(/this upload is h1:\S+/);
    expect(message.trimEnd()).not.toContain('\n');
    expect((await t.request(`/go/once/${M}/@v/v1.0.0.info`, { auth: ADMIN_AUTH })).status).toBe(410);
  });

  test('a deleted version answers 410 with its deletion and hash for each file while its tombstone remains, 404 once purged', async () => {
    expect((await put('once', 'v0.9.0', 'package x // short-lived\n')).status).toBe(201);
    const files = ['info', 'mod', 'zip'].map((ext) => `/go/once/${M}/@v/v0.9.0.${ext}`);
    // Read first, so that the answers remembered in memory are the ones the deletion must replace.
    for (const path of files) expect((await t.request(path, { auth: ADMIN_AUTH })).status).toBe(200);
    expect((await del('once', 'v0.9.0')).status).toBe(204);
    const [tomb] = (await (await t.api('GET', '/repositories/once/tombstones')).json()).filter(
      (x: { version: string }) => x.version === 'v0.9.0',
    );
    for (const path of files) {
      const res = await t.request(path, { auth: ADMIN_AUTH });
      expect(res.status).toBe(410);
      expect(await res.text()).toBe(
        `${M}@v0.9.0 was deleted from repository "once" on ${tomb.deletedAt.slice(0, 10)}; require another version (only the same zip, ${tomb.h1}, can publish v0.9.0 again)\n`,
      );
    }
    // A version never published is not gone: it was never here.
    expect((await t.request(`/go/once/${M}/@v/v0.8.0.info`, { auth: ADMIN_AUTH })).status).toBe(404);
    expect((await t.api('DELETE', `/repositories/once/tombstones?module=${M}&version=v0.9.0`)).status).toBe(204);
    for (const path of files) expect((await t.request(path, { auth: ADMIN_AUTH })).status).toBe(404);
  });

  test('the same bytes again restore the version and clear its tombstone', async () => {
    const res = await put('once', 'v1.0.0', 'package x // first\n');
    expect(res.status).toBe(201);
    expect(await (await t.request(`/go/once/${M}/@v/list`, { auth: ADMIN_AUTH })).text()).toBe('v1.0.0\n');
    expect(await (await t.api('GET', '/repositories/once/tombstones')).json()).toEqual([]);
    const [publish] = await t.ctx.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'module.publish'), eq(auditLog.target, `${M}@v1.0.0`)))
      .orderBy(auditLog.id)
      .offset(1);
    expect(publish.details.restored).toBe(true);
  });

  test('only an administrator may purge a tombstone; then different bytes are accepted', async () => {
    expect((await del('once', 'v1.0.0')).status).toBe(204);
    const query = `/repositories/once/tombstones?module=${M}&version=v1.0.0`;
    expect((await t.api('DELETE', query, undefined, null)).status).toBe(401);
    expect((await t.api('DELETE', query, undefined, basic('dev', 'dev-password-1'))).status).toBe(403);
    expect((await t.api('DELETE', '/repositories/once/tombstones?module=example.com/none&version=v1.0.0')).status).toBe(404);
    expect((await t.api('DELETE', query)).status).toBe(204);
    const [purge] = await t.ctx.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'tombstone.purge'), eq(auditLog.target, `${M}@v1.0.0`)));
    expect(purge).toMatchObject({ actor: 'admin', repository: 'once', target: `${M}@v1.0.0` });
    expect(String(purge.details.h1)).toStartWith('h1:');
    expect((await put('once', 'v1.0.0', 'package x // third\n')).status).toBe(201);
  });

  test('under write policy allow a deletion leaves no tombstone (versions are replaceable there anyway)', async () => {
    expect((await put('loose', 'v1.0.0', 'package x // a\n')).status).toBe(201);
    expect((await del('loose', 'v1.0.0')).status).toBe(204);
    expect(await (await t.api('GET', '/repositories/loose/tombstones')).json()).toEqual([]);
    // Nothing says the version was here, and any bytes may take it again: not gone, just absent.
    expect((await t.request(`/go/loose/${M}/@v/v1.0.0.zip`, { auth: ADMIN_AUTH })).status).toBe(404);
    expect((await put('loose', 'v1.0.0', 'package x // b\n')).status).toBe(201);
  });

  test('tombstones go with their repository', async () => {
    expect((await t.api('POST', '/repositories', { name: 'brief', type: 'hosted' })).status).toBe(201);
    expect((await put('brief', 'v0.1.0', 'package x\n')).status).toBe(201);
    expect((await del('brief', 'v0.1.0')).status).toBe(204);
    const repo = await t.ctx.repositories.rowByName('brief');
    expect((await t.api('DELETE', '/repositories/brief')).status).toBe(204);
    expect(await t.ctx.db.select().from(versionTombstones).where(eq(versionTombstones.repositoryId, repo.id))).toEqual([]);
  });

  test('the repository page lists deleted versions with a go.sum warning, and an administrator purges one from it', async () => {
    expect((await put('once', 'v1.1.0', 'package x // ui\n')).status).toBe(201);
    expect((await del('once', 'v1.1.0')).status).toBe(204);
    const ui = await signIn(t, 'admin', ADMIN_PASSWORD);
    const { html } = await ui.page('/repositories/once');
    expect(html).toContain('Deleted versions');
    expect(html).toContain(`${M}@v1.1.0`);
    expect(html).toContain('would fail with a checksum mismatch');
    const res = await ui.post('/repositories/once/tombstones/purge', { module: M, version: 'v1.1.0' });
    expect(res.status).toBe(303);
    expect(await (await t.api('GET', '/repositories/once/tombstones')).json()).toEqual([]);

    const dev = await signIn(t, 'dev', 'dev-password-1');
    expect((await dev.post('/repositories/once/tombstones/purge', { module: M, version: 'v1.1.0' })).status).toBe(403);
  });
});
