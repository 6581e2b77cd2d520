import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { BadUpstream, UpstreamTimeout } from '../../src/errors';
import { ADMIN_AUTH, basic, startTestApp, type TestApp } from '../support/app';
import { testDatabaseKinds } from '../support/db';
import { type FakeModules, FakeRepository, fakeRow } from '../support/fake-repository';
import { HANG_LIMIT_MS } from '../support/limits';
import { buildModuleZip } from '../support/zipbuild';

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

  describe('group reads are member reads', () => {
    const S = 'corp.example/secret';
    const users = {
      both: basic('both-reader', 'both-pw-1'),
      groupOnly: basic('group-only', 'group-only-pw-1'),
    };
    beforeAll(async () => {
      for (const body of [
        { name: 'm-pub', type: 'hosted', anonymousRead: true },
        { name: 'm-secret', type: 'hosted' },
        { name: 'm-mixed', type: 'group', members: ['m-pub', 'm-secret'], anonymousRead: true },
        { name: 'm-public-only', type: 'group', members: ['m-pub'], anonymousRead: true },
      ]) {
        expect((await t.api('POST', '/repositories', body)).status).toBe(201);
      }
      for (const [user, repos] of [
        ['both-reader', ['m-mixed', 'm-secret']],
        ['group-only', ['m-mixed']],
      ] as const) {
        const password = user === 'both-reader' ? 'both-pw-1' : 'group-only-pw-1';
        expect((await t.api('POST', '/users', { username: user, password })).status).toBe(201);
        for (const repo of repos)
          expect((await t.api('PUT', `/repositories/${repo}/permissions/${user}`, { role: 'read' })).status).toBe(200);
      }
    }, HANG_LIMIT_MS);
    const members = () => {
      serve('m-pub', { [M]: { 'v1.0.0': {} } });
      serve('m-secret', { [M]: { 'v1.1.0': {} }, [S]: { 'v0.1.0': {} } });
    };

    test.each([
      ['an administrator', ADMIN_AUTH],
      ['a user with read on the group and on the private member', users.both],
    ])('%s reads every member through the group, and the answers are private to shared caches', async (_, auth) => {
      members();
      const list = await get(`/go/m-mixed/${M}/@v/list`, auth);
      expect(await list.text()).toBe('v1.0.0\nv1.1.0\n');
      expect(list.headers.get('cache-control')).toBe('private, max-age=60');
      const zip = await get(`/go/m-mixed/${S}/@v/v0.1.0.zip`, auth);
      expect(zip.status).toBe(200);
      expect(zip.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
      expect((await (await get(`/go/m-mixed/${M}/@latest`, auth)).json()).Version).toBe('v1.1.0');
    });

    test('a user with read on the group only sees the members it may read, and is refused (403, never 404) what only the others could hold', async () => {
      members();
      const auth = users.groupOnly;
      expect((await get(`/go/m-secret/${S}/@v/list`, auth)).status).toBe(403);
      expect(await (await get(`/go/m-mixed/${M}/@v/list`, auth)).text()).toBe('v1.0.0\n');
      expect((await (await get(`/go/m-mixed/${M}/@latest`, auth)).json()).Version).toBe('v1.0.0');
      expect((await get(`/go/m-mixed/${M}/@v/v1.0.0.zip`, auth)).status).toBe(200);
      for (const path of [`${S}/@v/list`, `${S}/@latest`, `${S}/@v/v0.1.0.info`, `${S}/@v/v0.1.0.zip`, `${M}/@v/v1.1.0.mod`]) {
        const res = await get(`/go/m-mixed/${path}`, auth);
        expect(res.status).toBe(403);
        expect(await res.text()).toContain('you may not read m-secret');
      }
      // The same answer for a path nobody has: the refusal tells nothing of what m-secret stores.
      expect((await get('/go/m-mixed/corp.example/none/@v/list', auth)).status).toBe(403);
    });

    test('an anonymous caller of an anonymous-read group gets only anonymous-read members, and 401 (so it sends credentials) for the rest', async () => {
      members();
      expect(await (await get(`/go/m-mixed/${M}/@v/list`, null)).text()).toBe('v1.0.0\n');
      const zip = await get(`/go/m-mixed/${M}/@v/v1.0.0.zip`, null);
      expect(zip.status).toBe(200);
      // m-secret could have answered for someone else: a shared cache must not keep the group's answers.
      expect(zip.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
      for (const path of [`${S}/@v/list`, `${S}/@latest`, `${S}/@v/v0.1.0.zip`, `${M}/@v/v1.1.0.zip`]) {
        const res = await get(`/go/m-mixed/${path}`, null);
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toContain('Basic');
        expect(await res.text()).toContain('needs credentials to look in member(s) m-secret');
      }
    });

    test('a group whose members all read anonymously answers anonymous callers as public, and a missing path is a plain 404', async () => {
      members();
      const zip = await get(`/go/m-public-only/${M}/@v/v1.0.0.zip`, null);
      expect(zip.status).toBe(200);
      expect(zip.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect((await get(`/go/m-public-only/${S}/@v/list`, null)).status).toBe(404);
    });

    test('a warm answer taken from memory goes only to callers who may read every member it could come from', async () => {
      // Real hosted members (not fakes), so that the group's answers are kept in memory.
      for (const body of [
        { name: 'w-pub', type: 'hosted', anonymousRead: true },
        { name: 'w-secret', type: 'hosted' },
        { name: 'w-mixed', type: 'group', members: ['w-pub', 'w-secret'], anonymousRead: true },
      ]) {
        expect((await t.api('POST', '/repositories', body)).status).toBe(201);
      }
      for (const [repo, version] of [
        ['w-pub', 'v1.0.0'],
        ['w-secret', 'v1.1.0'],
      ]) {
        const zip = buildModuleZip(M, version, { 'go.mod': `module ${M}\n`, 'lib.go': 'package lib\n' });
        expect((await t.request(`/go/${repo}/${M}/@v/${version}.zip`, { method: 'PUT', auth: ADMIN_AUTH, body: zip })).status).toBe(201);
      }
      expect((await t.api('PUT', '/repositories/w-secret/permissions/both-reader', { role: 'read' })).status).toBe(200);
      expect((await t.api('PUT', '/repositories/w-mixed/permissions/group-only', { role: 'read' })).status).toBe(200);
      const perms = t.ctx.permissions;
      const authorize = perms.authorize;
      let asked = 0;
      perms.authorize = (...args) => {
        asked++;
        return authorize.apply(perms, args);
      };
      try {
        const both = users.both;
        for (let i = 0; i < 2; i++) {
          expect(await (await get(`/go/w-mixed/${M}/@v/list`, both)).text()).toBe('v1.0.0\nv1.1.0\n');
          expect((await get(`/go/w-mixed/${M}/@v/v1.1.0.info`, both)).status).toBe(200);
        }
        // Warm, with the grants and member rows in memory: answered without asking authorize at all.
        asked = 0;
        expect(await (await get(`/go/w-mixed/${M}/@v/list`, both)).text()).toBe('v1.0.0\nv1.1.0\n');
        expect((await get(`/go/w-mixed/${M}/@v/v1.1.0.info`, both)).status).toBe(200);
        expect(asked).toBe(0);
        // Others ask the same paths right after: never the answer kept for both-reader.
        for (let i = 0; i < 2; i++) {
          expect(await (await get(`/go/w-mixed/${M}/@v/list`, users.groupOnly)).text()).toBe('v1.0.0\n');
          expect((await get(`/go/w-mixed/${M}/@v/v1.1.0.info`, users.groupOnly)).status).toBe(403);
          expect(await (await get(`/go/w-mixed/${M}/@v/list`, null)).text()).toBe('v1.0.0\n');
          expect((await get(`/go/w-mixed/${M}/@v/v1.1.0.info`, null)).status).toBe(401);
        }
        // Through a group over this one: the same answers, warm without authorize, and the same refusals.
        expect(
          (await t.api('POST', '/repositories', { name: 'w-outer', type: 'group', members: ['w-mixed'], anonymousRead: true })).status,
        ).toBe(201);
        for (let i = 0; i < 2; i++) expect(await (await get(`/go/w-outer/${M}/@v/list`, both)).text()).toBe('v1.0.0\nv1.1.0\n');
        asked = 0;
        expect(await (await get(`/go/w-outer/${M}/@v/list`, both)).text()).toBe('v1.0.0\nv1.1.0\n');
        expect(asked).toBe(0);
        expect(await (await get(`/go/w-outer/${M}/@v/list`, null)).text()).toBe('v1.0.0\n');
        expect((await get(`/go/w-outer/${M}/@v/v1.1.0.info`, null)).status).toBe(401);
        // A grant revoked: the next answer is the one for what it may still read.
        expect((await t.api('DELETE', '/repositories/w-secret/permissions/both-reader')).status).toBe(204);
        expect(await (await get(`/go/w-mixed/${M}/@v/list`, both)).text()).toBe('v1.0.0\n');
        expect((await get(`/go/w-mixed/${M}/@v/v1.1.0.info`, both)).status).toBe(403);
        // A member removed: gone from the next answer, also for a caller that may read everything.
        expect((await t.api('PATCH', '/repositories/w-mixed', { members: ['w-pub'] })).status).toBe(200);
        expect(await (await get(`/go/w-mixed/${M}/@v/list`)).text()).toBe('v1.0.0\n');
      } finally {
        perms.authorize = authorize;
      }
    });

    test('a nested group applies the same rule to its own members', async () => {
      members();
      expect((await t.api('POST', '/repositories', { name: 'm-outer', type: 'group', members: ['m-mixed'] })).status).toBe(201);
      expect((await t.api('PUT', '/repositories/m-outer/permissions/group-only', { role: 'read' })).status).toBe(200);
      expect(await (await get(`/go/m-outer/${M}/@v/list`, users.groupOnly)).text()).toBe('v1.0.0\n');
      expect((await get(`/go/m-outer/${S}/@v/v0.1.0.zip`, users.groupOnly)).status).toBe(403);
      expect((await get(`/go/m-outer/${S}/@v/v0.1.0.zip`, ADMIN_AUTH)).status).toBe(200);
    });
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
