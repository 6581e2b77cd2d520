import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { ADMIN_AUTH, basic, startTestApp, type TestApp } from '../support/app';
import { testDatabaseKinds } from '../support/db';
import { HANG_LIMIT_MS } from '../support/limits';
import { type StubUpstream, startStubUpstream } from '../support/stub-upstream';
import { buildModuleZip } from '../support/zipbuild';

/**
 * Module path routing over real rows: a hosted repository that owns `corp.example`, a proxy of a loopback
 * upstream that serves an impostor of the same path, and groups over both. What the upstream is asked is
 * counted from its request log: a private path must never appear there.
 */
const PRIVATE = 'corp.example/team/core';
const PUBLIC = 'example.com/pub';
/** Higher than the hosted v0.9.0 and valid for the path (a v9.9.9 would need a /v9 suffix, and the go command would skip it anyway). */
const IMPOSTOR = 'v0.99.0';

describe.each(testDatabaseKinds())('module path routing on %s', (dbKind) => {
  let t: TestApp;
  let stub: StubUpstream;
  const get = (path: string, auth: string | null = ADMIN_AUTH) => t.request(path, { auth });
  const text = async (path: string, auth: string | null = ADMIN_AUTH) => {
    const res = await get(path, auth);
    return { status: res.status, body: await res.text() };
  };
  const upload = (repo: string, module: string, version: string) =>
    t.request(`/go/${repo}/${module}/@v/${version}.zip`, {
      method: 'PUT',
      body: buildModuleZip(module, version, { 'go.mod': `module ${module}\n\ngo 1.21\n`, 'core.go': 'package core\n' }),
      auth: ADMIN_AUTH,
      duplex: 'half',
    } as RequestInit & { auth: string });
  /** Every request the upstream saw for a path under corp.example (probes and checksum lookups included). */
  const leaked = () => stub.requests.filter((r) => r.path.includes('corp.example'));
  const create = async (body: Record<string, unknown>) => {
    const res = await t.api('POST', '/repositories', body);
    expect(res.status, await res.clone().text()).toBe(201);
  };

  beforeAll(async () => {
    stub = await startStubUpstream();
    stub.addModule(PRIVATE, IMPOSTOR, { files: { 'core.go': 'package core // impostor\n' } });
    stub.addModule(PUBLIC, 'v1.0.0');
    t = await startTestApp({ db: dbKind });
    await create({ name: 'internal', type: 'hosted', namespaces: ['corp.example'] });
    await create({ name: 'mirror', type: 'proxy', remoteUrl: stub.url, settings: { checksumVerification: 'off' } });
    // The proxy first: order must not matter for an owned path.
    await create({ name: 'all', type: 'group', members: ['mirror', 'internal'] });
    await create({ name: 'inner', type: 'group', members: ['internal'] });
    await create({ name: 'outer', type: 'group', members: ['mirror', 'inner'] });
    for (const v of ['v0.8.0', 'v0.9.0']) expect((await upload('internal', PRIVATE, v)).status).toBe(201);
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await t?.close();
    await stub?.close();
  });
  beforeEach(() => {
    stub.requests.length = 0;
    stub.clearFault();
  });

  test.each(['all', 'outer'])(
    'through group %s an owned path is answered by its owner alone, and the upstream hears nothing of it',
    async (group) => {
      expect(await text(`/go/${group}/${PRIVATE}/@v/list`)).toEqual({ status: 200, body: 'v0.8.0\nv0.9.0\n' });
      const latest = await text(`/go/${group}/${PRIVATE}/@latest`);
      expect(latest.status).toBe(200);
      expect(JSON.parse(latest.body).Version).toBe('v0.9.0');
      expect((await get(`/go/${group}/${PRIVATE}/@v/v0.9.0.zip`)).status).toBe(200);
      // The impostor's version is not served, though the proxy member comes first and its upstream has it.
      expect((await get(`/go/${group}/${PRIVATE}/@v/${IMPOSTOR}.info`)).status).toBe(404);
      // The go command's path-prefix probes stay here too.
      for (const probe of ['corp.example/team', 'corp.example']) {
        expect((await get(`/go/${group}/${probe}/@v/list`)).status).toBe(404);
        expect((await get(`/go/${group}/${probe}/@latest`)).status).toBe(404);
      }
      expect(leaked()).toEqual([]);
    },
  );

  test('an owned path is unaffected by an upstream outage, while public paths still go through the proxy', async () => {
    for (const path of [stub.paths(PUBLIC).list, stub.paths(PRIVATE).list, stub.paths(PRIVATE).latest])
      stub.fault(path, { kind: 'status', status: 500 });
    expect((await text(`/go/all/${PRIVATE}/@v/list`)).status).toBe(200);
    expect((await get(`/go/all/${PUBLIC}/@v/list`)).status).toBe(502);
    expect(stub.count(stub.paths(PUBLIC).list)).toBeGreaterThan(0);
    stub.clearFault();
    expect(await text(`/go/all/${PUBLIC}/@v/list`)).toEqual({ status: 200, body: 'v1.0.0\n' });
    expect(leaked()).toEqual([]);
  });

  test('a checksum-database lookup of an owned path through the group is a 404 naming GONOSUMDB, never relayed', async () => {
    const res = await text(`/go/all/sumdb/sum.example/lookup/${PRIVATE}@v0.9.0`);
    expect(res.status).toBe(404);
    expect(res.body).toContain('GONOSUMDB');
    expect(res.body).toContain('corp.example');
    expect(leaked()).toEqual([]);
  });

  // The 404 above names the owner and its namespaces, which are other private paths: a caller who may read the
  // group but not the owner must learn neither (issue 16).
  test('a checksum lookup of an owned path names the owner only to callers who may read it, and is never relayed', async () => {
    await create({ name: 'vault', type: 'hosted', namespaces: ['corp.vault', 'vault.internal/*'] });
    await create({ name: 'sums', type: 'group', members: ['mirror', 'vault'], anonymousRead: true });
    const users = { 'vault-reader': ['sums', 'vault'], 'sums-only': ['sums'] };
    for (const [username, repos] of Object.entries(users)) {
      expect((await t.api('POST', '/users', { username, password: `${username}-pw-1` })).status).toBe(201);
      for (const repo of repos)
        expect((await t.api('PUT', `/repositories/${repo}/permissions/${username}`, { role: 'read' })).status).toBe(200);
    }
    const lookup = '/go/sums/sumdb/sum.example/lookup/corp.vault/tools@v1.0.0';

    const reader = await text(lookup, basic('vault-reader', 'vault-reader-pw-1'));
    expect(reader.status).toBe(404);
    expect(reader.body).toContain('private module of repository "vault"');
    expect(reader.body).toContain('set GONOSUMDB (or GOPRIVATE) to corp.vault,vault.internal/*');

    for (const [who, auth, status] of [
      ['a user with read on the group only', basic('sums-only', 'sums-only-pw-1'), 403],
      ['an anonymous caller', null, 401],
    ] as const) {
      const res = await get(lookup, auth);
      const body = await res.text();
      expect(res.status, who).toBe(status);
      expect(body, who).not.toContain('"vault"');
      expect(body, who).not.toContain('vault.internal');
      expect(body, who).not.toContain('GOPRIVATE) to corp');
      if (status === 401) expect(res.headers.get('www-authenticate')).toContain('Basic');
    }
    // Public paths are still relayed to the same callers.
    const relayed = await get(`/go/sums/sumdb/sum.example/lookup/${PUBLIC}@v1.0.0`, basic('sums-only', 'sums-only-pw-1'));
    expect(relayed.status).toBe(200);
    expect(stub.requests.filter((r) => r.path.includes('corp.vault'))).toEqual([]);
  });

  test('without namespaces the group merges the impostor in: what routing prevents', async () => {
    expect((await t.api('PATCH', '/repositories/internal', { namespaces: [] })).status).toBe(200);
    try {
      expect((await text(`/go/all/${PRIVATE}/@v/list`)).body).toBe(`v0.8.0\nv0.9.0\n${IMPOSTOR}\n`);
      expect(leaked().length).toBeGreaterThan(0);
    } finally {
      expect((await t.api('PATCH', '/repositories/internal', { namespaces: ['corp.example'] })).status).toBe(200);
    }
    // The edit applies to the next request: no cached group answer outlives it.
    stub.requests.length = 0;
    expect((await text(`/go/all/${PRIVATE}/@v/list`)).body).toBe('v0.8.0\nv0.9.0\n');
    expect(leaked()).toEqual([]);
  });

  test('an owner the caller may not read is a 401, not a reason to ask the proxy', async () => {
    await create({ name: 'open', type: 'group', members: ['mirror', 'internal'], anonymousRead: true });
    expect((await get(`/go/open/${PRIVATE}/@v/list`, null)).status).toBe(401);
    expect((await text(`/go/open/${PUBLIC}/@v/list`, null)).body).toBe('v1.0.0\n');
    expect(leaked()).toEqual([]);
  });

  test('an upload outside a hosted repository namespaces is refused, naming them', async () => {
    const res = await upload('internal', 'example.com/other', 'v1.0.0');
    expect(res.status).toBe(403);
    const body = await res.text();
    expect(body).toContain('example.com/other is outside the namespaces of repository "internal" (corp.example)');
    expect((await upload('internal', 'corp.example/tools', 'v1.0.0')).status).toBe(201);
    expect((await get('/go/internal/example.com/other/@v/list')).status).toBe(404);
  });

  // The case: the proxy member's upstream has a list but no @latest; its v1.2.0 beats the hosted v1.0.0.
  test("a group's @latest is the best across members when the proxy member's upstream answers 404 on @latest", async () => {
    const mixed = 'example.com/mixed';
    stub.addModule(mixed, 'v1.2.0');
    stub.removeFile(stub.paths(mixed).latest);
    await create({ name: 'plain', type: 'hosted' });
    await create({ name: 'mixed', type: 'group', members: ['plain', 'mirror'] });
    for (const v of ['v1.0.0', 'v1.3.0-rc.1']) expect((await upload('plain', mixed, v)).status).toBe(201);
    const latest = await text(`/go/mixed/${mixed}/@latest`);
    expect(latest.status).toBe(200);
    expect(JSON.parse(latest.body).Version).toBe('v1.2.0');
    expect(stub.count(stub.paths(mixed).latest)).toBe(1);
  });

  describe('proxy path rules', () => {
    beforeAll(async () => {
      await create({
        name: 'ruled',
        type: 'proxy',
        remoteUrl: stub.url,
        includePaths: ['example.com', 'corp.example'],
        excludePaths: ['corp.example'],
        settings: { checksumVerification: 'off' },
      });
    });

    test('an excluded path is a 404 for every protocol file and checksum lookup, with no upstream request', async () => {
      for (const path of [
        `${PRIVATE}/@v/list`,
        `${PRIVATE}/@latest`,
        `${PRIVATE}/@v/${IMPOSTOR}.info`,
        `${PRIVATE}/@v/${IMPOSTOR}.mod`,
        `${PRIVATE}/@v/${IMPOSTOR}.zip`,
        `sumdb/sum.example/lookup/${PRIVATE}@${IMPOSTOR}`,
      ]) {
        const res = await text(`/go/ruled/${path}`);
        expect(res.status, path).toBe(404);
        if (!path.startsWith('sumdb/')) expect(res.body).toContain('path rules');
      }
      // Counted by path: an earlier test's .info fill may still be fetching its .mod beside it.
      expect(stub.requests.filter((r) => r.path.includes('corp.example'))).toEqual([]);
    });

    test('a path outside every include pattern is a 404 with no upstream request; an included one is proxied', async () => {
      expect((await get('/go/ruled/golang.example/x/@v/list')).status).toBe(404);
      expect(await text(`/go/ruled/${PUBLIC}/@v/list`)).toEqual({ status: 200, body: 'v1.0.0\n' });
      // Counted by path: an earlier test's .info fill may still be fetching its .mod beside it.
      expect(stub.requests.filter((r) => r.path.startsWith('golang.example/'))).toEqual([]);
      expect(stub.count(`${PUBLIC}/@v/list`)).toBe(1);
    });
  });

  describe('admin API', () => {
    test('the fields are shown and kept as normalized', async () => {
      const res = await t.api('POST', '/repositories', {
        name: 'ns',
        type: 'hosted',
        namespaces: [' github.com/myorg/* ', 'corp.example/'],
      });
      expect(res.status).toBe(201);
      const view = await res.json();
      expect(view.namespaces).toEqual(['github.com/myorg/*', 'corp.example']);
      expect(view.includePaths).toEqual([]);
      expect(view.excludePaths).toEqual([]);
      expect((await (await t.api('GET', '/repositories/ruled')).json()).excludePaths).toEqual(['corp.example']);
    });

    test.each([
      ['a malformed glob', { namespaces: ['corp.example/[z-a]'] }, 'namespaces', 'runs backwards'],
      ['an unclosed class', { namespaces: ['corp.example/[ab'] }, 'namespaces', "'[' has no closing ']'"],
      ['a trailing escape', { namespaces: ['corp\\'] }, 'namespaces', 'escapes nothing'],
      ['two patterns in one entry', { namespaces: ['a.example,b.example'] }, 'namespaces', 'its own list entry'],
      ['an empty pattern', { namespaces: ['  '] }, 'namespaces', 'empty pattern'],
      ['path rules on a hosted repository', { excludePaths: ['corp.example'] }, 'excludePaths', 'only for proxy'],
    ])('%s is a 400 naming the field', async (_what, fields, field, reason) => {
      const res = await t.api('PATCH', '/repositories/internal', fields);
      expect(res.status).toBe(400);
      const body = await res.json();
      expect(body.message).toContain(field);
      expect(body.message).toContain(reason);
      expect((await (await t.api('GET', '/repositories/internal')).json()).namespaces).toEqual(['corp.example']);
    });

    test('namespaces on a proxy and a bad include glob are refused at creation', async () => {
      for (const [body, field] of [
        [{ name: 'bad1', type: 'proxy', remoteUrl: stub.url, namespaces: ['corp.example'] }, 'namespaces'],
        [{ name: 'bad2', type: 'proxy', remoteUrl: stub.url, includePaths: ['[^'] }, 'includePaths'],
        [{ name: 'bad3', type: 'group', excludePaths: ['x.example'] }, 'excludePaths'],
      ] as const) {
        const res = await t.api('POST', '/repositories', body);
        expect(res.status).toBe(400);
        expect((await res.json()).message).toStartWith(field);
      }
      expect((await t.api('GET', '/repositories/bad1')).status).toBe(404);
    });

    test('the fields are documented in the OpenAPI document, for creation, changes and answers', async () => {
      const text = JSON.stringify(await (await t.request('/swagger/json')).json());
      for (const field of ['namespaces', 'includePaths', 'excludePaths']) expect(text).toContain(`"${field}"`);
      expect(text).toContain("the go command's GOPRIVATE glob syntax");
      expect(text).toContain('never asked of the upstream');
    });

    test('a list that is not of strings is refused', async () => {
      expect((await t.api('PATCH', '/repositories/internal', { namespaces: 'corp.example' })).status).toBe(400);
      expect((await t.api('PATCH', '/repositories/internal', { namespaces: [1] })).status).toBe(400);
    });
  });
});
