import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { repositoryPermissions } from '../../src/db/schema';
import { BadUpstream, UpstreamTimeout } from '../../src/errors';
import { ADMIN_AUTH, basic, startTestApp, type TestApp } from '../support/app';
import { testDatabaseKinds } from '../support/db';
import { type FakeModules, FakeRepository, fakeRow } from '../support/fake-repository';
import { HANG_LIMIT_MS } from '../support/limits';

/**
 * A group over real repository rows whose members are fakes: the registry builds every non-group
 * member from its row on each request, and the test swaps in what it builds. That way the HTTP
 * path, the admin API and the auth checks are real while members can be made to fail at will.
 */
const M = 'example.com/lib';
const PSEUDO_OLD = 'v0.0.0-20230101000000-aaaaaaaaaaaa';
const PSEUDO_NEW = 'v0.0.0-20240601000000-bbbbbbbbbbbb';

describe.each(testDatabaseKinds())('group repositories over HTTP on %s', (dbKind) => {
  let t: TestApp;
  const fakes = new Map<string, FakeRepository>();
  const serve = (name: string, modules: FakeModules, type: 'hosted' | 'proxy' = 'hosted') => {
    const fake = new FakeRepository(fakeRow(name, type), modules);
    fakes.set(name, fake);
    return fake;
  };
  const get = (path: string, auth: string | null = ADMIN_AUTH) => t.request(path, { auth });

  // PGlite start and migrations alone can take seconds on a busy machine; hooks get only 5 s by default.
  beforeAll(async () => {
    t = await startTestApp({ db: dbKind });
    for (const body of [
      { name: 'go-internal', type: 'hosted' },
      { name: 'go-proxy', type: 'proxy', remoteUrl: 'http://127.0.0.1:9' },
      { name: 'go-all', type: 'group', members: ['go-internal', 'go-proxy'] },
    ]) {
      expect((await t.api('POST', '/repositories', body)).status).toBe(201);
    }
    const build = t.ctx.registry.instantiate;
    t.ctx.registry.instantiate = (row) => fakes.get(row.name) ?? build(row);
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await t?.close();
  });

  test('a version comes from the first member that has it, and a change of order through the admin API applies to the next request', async () => {
    serve('go-internal', { [M]: { 'v1.0.0': { mod: 'module example.com/lib // internal\n' } } });
    serve('go-proxy', { [M]: { 'v1.0.0': { mod: 'module example.com/lib // proxy\n' } } }, 'proxy');
    const info = await get(`/go/go-all/${M}/@v/v1.0.0.info`);
    expect(info.status).toBe(200);
    expect(info.headers.get('content-type')).toBe('application/json');
    expect((await info.json()).Origin.Repo).toBe('go-internal');
    expect(await (await get(`/go/go-all/${M}/@v/v1.0.0.mod`)).text()).toContain('internal');

    expect((await t.api('PATCH', '/repositories/go-all', { members: ['go-proxy', 'go-internal'] })).status).toBe(200);
    expect((await (await get(`/go/go-all/${M}/@v/v1.0.0.info`)).json()).Origin.Repo).toBe('go-proxy');
    const zip = await get(`/go/go-all/${M}/@v/v1.0.0.zip`);
    expect(zip.headers.get('content-type')).toBe('application/zip');
    expect(await zip.text()).toContain('from go-proxy');

    expect((await t.api('PATCH', '/repositories/go-all', { members: ['go-internal'] })).status).toBe(200);
    expect(await (await get(`/go/go-all/${M}/@v/list`)).text()).toBe('v1.0.0\n');
    expect((await t.api('PATCH', '/repositories/go-all', { members: ['go-internal', 'go-proxy'] })).status).toBe(200);
  });

  test('@v/list is the union of the members in semver order, without pseudo-versions', async () => {
    serve('go-internal', { [M]: { 'v1.10.0': {}, 'v1.2.0': {}, [PSEUDO_OLD]: {} } });
    serve('go-proxy', { [M]: { 'v1.2.0': {}, 'v1.9.0': {}, 'v1.9.1-rc.1': {} } }, 'proxy');
    const res = await get(`/go/go-all/${M}/@v/list`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('v1.2.0\nv1.9.0\nv1.9.1-rc.1\nv1.10.0\n');
  });

  test.each([
    [
      'a release beats a newer prerelease',
      { 'v1.0.0': { time: '2020-01-01T00:00:00Z' } },
      { 'v2.0.0-rc.1': { time: '2024-01-01T00:00:00Z' } },
      'v1.0.0',
    ],
    ['a prerelease beats a pseudo-version', { [PSEUDO_NEW]: {} }, { 'v0.1.0-alpha': { time: '2019-01-01T00:00:00Z' } }, 'v0.1.0-alpha'],
    [
      'the newest pseudo-version wins by time',
      { [PSEUDO_OLD]: { time: '2023-01-01T00:00:00Z' } },
      { [PSEUDO_NEW]: { time: '2024-06-01T00:00:00Z' } },
      PSEUDO_NEW,
    ],
  ])('@latest across members: %s', async (_, internal, proxy, version) => {
    serve('go-internal', { [M]: internal });
    serve('go-proxy', { [M]: proxy }, 'proxy');
    const res = await get(`/go/go-all/${M}/@latest`);
    expect(res.status).toBe(200);
    expect((await res.json()).Version).toBe(version);
  });

  test('404 only when every member says not found', async () => {
    serve('go-internal', {});
    serve('go-proxy', {}, 'proxy');
    for (const path of ['@v/v1.0.0.info', '@v/v1.0.0.mod', '@v/v1.0.0.zip', '@v/list', '@latest']) {
      const res = await get(`/go/go-all/${M}/${path}`);
      expect(res.status).toBe(404);
      expect(await res.text()).toContain('not found in any member of group "go-all" (go-internal, go-proxy)');
    }
  });

  // A 404 here would send the go command on to the next GOPROXY entry, or direct, and hide the outage.
  test.each([
    ['answers 500', new BadUpstream('upstream http://127.0.0.1:9 answered 500'), 502],
    ['times out', new UpstreamTimeout('upstream http://127.0.0.1:9 did not answer within 1000ms'), 504],
  ])('when the proxy member %s and the hosted member lacks the module, every read names the proxy member', async (_, error, status) => {
    serve('go-internal', {});
    serve('go-proxy', {}, 'proxy').fail = error;
    for (const path of ['@v/v1.0.0.info', '@v/v1.0.0.mod', '@v/v1.0.0.zip', '@v/list', '@latest']) {
      const res = await get(`/go/go-all/${M}/${path}`);
      expect(res.status).toBe(status);
      expect(await res.text()).toBe(`member "go-proxy" failed: ${error.message}\n`);
    }
  });

  test('a failing member does not stop a version another member has, but it does fail the list', async () => {
    serve('go-internal', { [M]: { 'v1.0.0': {} } });
    serve('go-proxy', {}, 'proxy').fail = new BadUpstream('upstream http://127.0.0.1:9 answered 500');
    expect((await get(`/go/go-all/${M}/@v/v1.0.0.zip`)).status).toBe(200);
    const list = await get(`/go/go-all/${M}/@v/list`);
    expect(list.status).toBe(502);
    expect(await list.text()).toContain('member "go-proxy" failed');
  });

  test('an upload to a group is 405 naming its hosted members', async () => {
    const res = await t.request(`/go/go-all/${M}/@v/v1.0.0.zip`, { method: 'PUT', auth: ADMIN_AUTH, body: 'zip bytes' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
    expect(await res.text()).toBe('group "go-all" takes no uploads: upload to a hosted member: go-internal\n');
  });

  test('the checksum database is reached through the proxy member, and is 404 for a group without one', async () => {
    serve('go-internal', {});
    const proxy = new FakeRepository(fakeRow('go-proxy', 'proxy'), {}, 'sum answer');
    fakes.set('go-proxy', proxy);
    const res = await get('/go/go-all/sumdb/sum.example/supported');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('sum answer');
    expect(proxy.calls).toEqual(['sumdb sum.example/supported']);
    expect((await t.api('POST', '/repositories', { name: 'go-hosted-only', type: 'group', members: ['go-internal'] })).status).toBe(201);
    expect((await get('/go/go-hosted-only/sumdb/sum.example/supported')).status).toBe(404);
  });

  test('read on the group is enough: members are read on its behalf, whatever their own permissions', async () => {
    serve('go-internal', { [M]: { 'v1.0.0': {} } });
    serve('go-proxy', {}, 'proxy');
    const reader = await t.ctx.users.create({ username: 'group-reader', password: 'reader-pw-1' });
    const group = await t.ctx.repositories.rowByName('go-all');
    await t.ctx.db.insert(repositoryPermissions).values({ repositoryId: group.id, userId: reader.id, role: 'read' });
    await t.ctx.users.create({ username: 'stranger', password: 'stranger-pw-1' });

    expect((await get(`/go/go-internal/${M}/@v/v1.0.0.info`, basic('group-reader', 'reader-pw-1'))).status).toBe(403);
    expect((await get(`/go/go-all/${M}/@v/v1.0.0.info`, basic('group-reader', 'reader-pw-1'))).status).toBe(200);
    expect((await get(`/go/go-all/${M}/@v/v1.0.0.info`, basic('stranger', 'stranger-pw-1'))).status).toBe(403);
    expect((await get(`/go/go-all/${M}/@v/v1.0.0.info`, null)).status).toBe(401);
  });

  test('nested groups are read through, and a change inside the inner group shows in the outer one at once', async () => {
    serve('go-internal', { [M]: { 'v1.0.0': {} } });
    serve('go-proxy', { [M]: { 'v2.0.0': {} } }, 'proxy');
    expect((await t.api('POST', '/repositories', { name: 'go-outer', type: 'group', members: ['go-hosted-only'] })).status).toBe(201);
    expect(await (await get(`/go/go-outer/${M}/@v/list`)).text()).toBe('v1.0.0\n');
    expect((await t.api('PATCH', '/repositories/go-hosted-only', { members: ['go-internal', 'go-proxy'] })).status).toBe(200);
    expect(await (await get(`/go/go-outer/${M}/@v/list`)).text()).toBe('v1.0.0\nv2.0.0\n');
    expect((await (await get(`/go/go-outer/${M}/@latest`)).json()).Version).toBe('v2.0.0');
  });
});
