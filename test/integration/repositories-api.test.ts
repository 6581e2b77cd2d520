import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { ADMIN_AUTH, startTestApp, type TestApp } from '../support/app';
import { testDatabaseKinds } from '../support/db';
import { HANG_LIMIT_MS } from '../support/limits';

describe.each(testDatabaseKinds())('repositories admin API on %s', (dbKind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ db: dbKind });
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await t?.close();
  });

  test('creating a hosted repository returns 201 with the repository, and GET returns it', async () => {
    const res = await t.api('POST', '/repositories', { name: 'go-internal', format: 'go', type: 'hosted' });
    expect(res.status).toBe(201);
    const created = await res.json();
    expect(created).toMatchObject({
      name: 'go-internal',
      format: 'go',
      type: 'hosted',
      anonymousRead: false,
      writePolicy: 'allow_once',
      path: '/go/go-internal/',
    });
    const got = await t.api('GET', '/repositories/go-internal');
    expect(got.status).toBe(200);
    expect(await got.json()).toEqual(created);
    const list = await (await t.api('GET', '/repositories')).json();
    expect(list.map((r: { name: string }) => r.name)).toContain('go-internal');
  });

  test('a proxy repository defaults to anonymous read and keeps its upstream password secret', async () => {
    const res = await t.api('POST', '/repositories', {
      name: 'go-proxy',
      type: 'proxy',
      remoteUrl: 'https://upstream.invalid/',
      settings: { upstreamUsername: 'u', upstreamPassword: 'hunter2', metadataTtlSeconds: 30 },
    });
    expect(res.status).toBe(201);
    const body = await res.json();
    expect(body.anonymousRead).toBe(true);
    expect(body.remoteUrl).toBe('https://upstream.invalid');
    expect(body.settings).toEqual({ upstreamUsername: 'u', metadataTtlSeconds: 30, upstreamPasswordSet: true });
    expect(JSON.stringify(body)).not.toContain('hunter2');
  });

  test.each([
    ['a duplicate name', { name: 'go-internal', type: 'hosted' }, 409],
    ['an uppercase name', { name: 'Bad', type: 'hosted' }, 400],
    ['a name of only dots', { name: '..', type: 'hosted' }, 400],
    ['a name longer than 64', { name: 'a'.repeat(65), type: 'hosted' }, 400],
    ['a proxy without remoteUrl', { name: 'p1', type: 'proxy' }, 400],
    ['a proxy with an ftp remoteUrl', { name: 'p2', type: 'proxy', remoteUrl: 'ftp://x.example/' }, 400],
    ['a proxy with credentials in remoteUrl', { name: 'p3', type: 'proxy', remoteUrl: 'https://u:p@x.example/' }, 400],
    ['a group with an unknown member', { name: 'g1', type: 'group', members: ['nope'] }, 400],
    ['an unknown format', { name: 'n1', format: 'npm', type: 'hosted' }, 400],
    ['an unknown type', { name: 'n2', type: 'mirror' }, 400],
    ['an unknown setting', { name: 'p4', type: 'proxy', remoteUrl: 'https://x.example', settings: { bogus: 1 } }, 400],
  ])('creating with %s is refused', async (_, body, status) => {
    const res = await t.api('POST', '/repositories', body);
    expect(res.status).toBe(status);
    const err = await res.json();
    expect(err.error).toBeString();
    expect(err.message).toBeString();
    expect(err.message).not.toContain('\n');
  });

  test('a group that would contain itself, directly or through another group, is refused', async () => {
    expect((await t.api('POST', '/repositories', { name: 'g-a', type: 'group', members: ['go-internal'] })).status).toBe(201);
    expect((await t.api('POST', '/repositories', { name: 'g-b', type: 'group', members: ['g-a', 'go-proxy'] })).status).toBe(201);
    const self = await t.api('PATCH', '/repositories/g-a', { members: ['g-a'] });
    expect(self.status).toBe(400);
    const cycle = await t.api('PATCH', '/repositories/g-a', { members: ['go-internal', 'g-b'] });
    expect(cycle.status).toBe(400);
    expect((await cycle.json()).message).toContain('g-a -> g-b -> g-a');
    // The refused change left the members as they were.
    expect((await (await t.api('GET', '/repositories/g-a')).json()).members).toEqual(['go-internal']);
  });

  test('PATCH changes member order and settings; the type cannot change', async () => {
    const res = await t.api('PATCH', '/repositories/g-b', { members: ['go-proxy', 'g-a'] });
    expect(res.status).toBe(200);
    expect((await res.json()).members).toEqual(['go-proxy', 'g-a']);
    expect((await t.api('PATCH', '/repositories/go-internal', { type: 'proxy' })).status).toBe(400);
    const policy = await t.api('PATCH', '/repositories/go-internal', { writePolicy: 'deny', anonymousRead: true });
    expect(await policy.json()).toMatchObject({ writePolicy: 'deny', anonymousRead: true });
  });

  test('a repository that is a group member cannot be deleted until the group lets go of it', async () => {
    expect((await t.api('DELETE', '/repositories/go-internal')).status).toBe(409);
    expect((await t.api('DELETE', '/repositories/g-b')).status).toBe(204);
    expect((await t.api('DELETE', '/repositories/g-a')).status).toBe(204);
    expect((await t.api('DELETE', '/repositories/go-internal')).status).toBe(204);
    expect((await t.api('GET', '/repositories/go-internal')).status).toBe(404);
  });

  test('changes are written to the audit log', async () => {
    const { auditLog } = await import('../../src/db/schema');
    const rows = await t.ctx.db.select().from(auditLog);
    expect(rows.map((r) => r.action)).toEqual(expect.arrayContaining(['repository.create', 'repository.update', 'repository.delete']));
    expect(rows.every((r) => r.actor === 'admin')).toBe(true);
  });

  test('a malformed JSON body is a 400 with the JSON error shape', async () => {
    const res = await t.request('/api/v1/repositories', {
      method: 'POST',
      auth: ADMIN_AUTH,
      headers: { 'content-type': 'application/json' },
      body: '{nope',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'bad_request' });
  });

  test('anonymous callers get 401 with a Bearer challenge (no browser prompt), never 404', async () => {
    const res = await t.api('GET', '/repositories', undefined, null);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="OrbitRepos"');
    expect((await t.api('POST', '/repositories', { name: 'x', type: 'hosted' }, null)).status).toBe(401);
  });

  test('/health answers, /ready checks the database and storage, unknown routes are 404', async () => {
    expect((await t.request('/health')).status).toBe(200);
    const ready = await t.request('/ready');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
    const nope = await t.request('/api/v1/nope', { auth: ADMIN_AUTH });
    expect(nope.status).toBe(404);
    expect(await nope.json()).toMatchObject({ error: 'not_found' });
    expect((await t.request('/definitely/not/here')).status).toBe(404);
  });

  test('Swagger UI and the OpenAPI document are served with local assets only', async () => {
    const html = await (await t.request('/swagger')).text();
    expect(html).toContain('/swagger/assets/swagger-ui-bundle.js');
    expect(html).not.toMatch(/https?:\/\//);
    const js = await t.request('/swagger/assets/swagger-ui-bundle.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toContain('javascript');
    const spec = await (await t.request('/swagger/json')).json();
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/api/v1/repositories', '/api/v1/repositories/{name}']));
    expect(spec.components.securitySchemes).toMatchObject({ basic: { scheme: 'basic' }, bearer: { scheme: 'bearer' } });
  });
});
