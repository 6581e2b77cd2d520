import { afterAll, beforeAll, beforeEach, expect, test } from 'bun:test';
import { Elysia } from 'elysia';
import { createLogger } from '../../src/log';
import { requestLogContext } from '../../src/observability/request-scope';
import { createOrbitRepos } from '../../src/plugin';
import { ADMIN_AUTH, ADMIN_PASSWORD, basic, startTestApp, type TestApp } from '../support/app';
import { memoryLog } from '../support/metrics';
import { type StubUpstream, startStubUpstream } from '../support/stub-upstream';

// Log lines depend on HTTP and the proxy, not on SQL: one database driver is enough here.
const log = memoryLog();
let t: TestApp;
let stub: StubUpstream;

beforeAll(async () => {
  stub = await startStubUpstream();
  // At debug, so that every test here also holds the debug lines to the same redaction.
  t = await startTestApp({
    log: createLogger({ level: 'debug', format: 'json', destination: log.destination, context: requestLogContext }),
  });
  expect((await t.api('POST', '/repositories', { name: 'go-proxy', type: 'proxy', remoteUrl: stub.url })).status).toBe(201);
}, 180_000);
afterAll(async () => {
  await t?.close();
  await stub?.close();
});
beforeEach(() => {
  log.raw.length = 0;
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

test('every request leaves one line with its id, route, repository, status, bytes, duration and user', async () => {
  const res = await t.request('/api/v1/repositories/go-proxy', { auth: ADMIN_AUTH, headers: { 'x-request-id': 'build-42.step:7' } });
  const body = await res.text();
  expect(res.status).toBe(200);
  expect(res.headers.get('x-request-id')).toBe('build-42.step:7');
  const lines = log.requests();
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({
    level: 'info',
    requestId: 'build-42.step:7',
    method: 'GET',
    path: '/api/v1/repositories/go-proxy',
    kind: 'api',
    repository: 'go-proxy',
    status: 200,
    bytes: Buffer.byteLength(body),
    user: 'admin',
    client: 'local',
  });
  expect(typeof lines[0].durationMs).toBe('number');
  expect(typeof lines[0].time).toBe('string');
});

test.each([
  ['none', undefined],
  ['one with spaces and quotes', 'evil "forged line"'],
  ['one longer than 128 characters', 'x'.repeat(129)],
])('a request with %s for X-Request-Id gets a fresh id, echoed and logged', async (_what, incoming) => {
  const res = await t.request('/health', { headers: incoming ? { 'x-request-id': incoming } : {} });
  await res.arrayBuffer();
  const id = res.headers.get('x-request-id') ?? '';
  expect(id).toMatch(UUID);
  expect(log.requests()[0]).toMatchObject({ requestId: id, kind: 'other', status: 200 });
  expect(log.raw.join('')).not.toContain('forged line');
});

test('a proxy answer logs its cache outcome: miss when fetched, hit from storage', async () => {
  stub.addModule('example.com/logged', 'v1.0.0');
  for (let i = 0; i < 2; i++) {
    const res = await t.request('/go/go-proxy/example.com/logged/@v/v1.0.0.mod', { auth: ADMIN_AUTH });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  }
  const lines = log.requests();
  expect(lines.map((l) => [l.kind, l.repository, l.cache, l.status])).toEqual([
    ['mod', 'go-proxy', 'miss', 200],
    ['mod', 'go-proxy', 'hit', 200],
  ]);
});

test('at debug level a cold fill logs its upstream request and the fill under the request id; a warm answer adds nothing', async () => {
  stub.addModule('example.com/debugged', 'v1.0.0');
  const zip = '/go/go-proxy/example.com/debugged/@v/v1.0.0.zip';
  const cold = await t.request(zip, { auth: ADMIN_AUTH });
  expect(cold.status).toBe(200);
  const bytes = (await cold.arrayBuffer()).byteLength;
  const id = cold.headers.get('x-request-id');
  // The zip is answered once checked; the fill (and its log line) ends when it is stored.
  await t.ctx.coalescer.settled();
  const debug = log.lines.filter((l) => l.level === 'debug');
  expect(debug.find((l) => l.msg === 'upstream request' && String(l.url).endsWith('/example.com/debugged/@v/v1.0.0.zip'))).toMatchObject({
    requestId: id,
    repository: 'go-proxy',
    method: 'GET',
    status: 200,
    durationMs: expect.any(Number),
  });
  // (An earlier test's .info fill fetched its .mod meanwhile: that fill's line is its own module's.)
  expect(debug.filter((l) => l.msg === 'proxy fill' && l.module === 'example.com/debugged')).toEqual([
    expect.objectContaining({
      requestId: id,
      repository: 'go-proxy',
      module: 'example.com/debugged',
      version: 'v1.0.0',
      kind: 'zip',
      result: 'ok',
      bytes,
      durationMs: expect.any(Number),
    }),
  ]);

  // A version the upstream does not have: the fill says what the upstream answered.
  const absent = await t.request('/go/go-proxy/example.com/debugged/@v/v9.9.9.info', { auth: ADMIN_AUTH });
  expect(absent.status).toBe(404);
  await absent.arrayBuffer();
  expect(log.lines.find((l) => l.msg === 'proxy fill' && l.version === 'v9.9.9')).toMatchObject({
    requestId: absent.headers.get('x-request-id'),
    kind: 'info',
    result: 'upstream 404',
    bytes: 0,
  });

  log.raw.length = 0;
  const warm = await t.request(zip, { auth: ADMIN_AUTH });
  expect(warm.status).toBe(200);
  await warm.arrayBuffer();
  expect(log.lines.map((l) => [l.msg, l.cache])).toEqual([['request', 'hit']]);
});

test('a failed request and an unknown route are logged too, with their status', async () => {
  const denied = await t.request('/go/go-proxy/example.com/x/@v/list', { auth: basic('admin', 'wrong-password') });
  expect(denied.status).toBe(401);
  await denied.arrayBuffer();
  // The service's own warning carries the request id, so it can be found beside the request's line.
  expect(log.lines.find((l) => l.msg === 'sign-in failed')?.requestId).toBe(denied.headers.get('x-request-id'));
  const unknown = await t.request('/api/v1/no-such-thing', { auth: ADMIN_AUTH });
  expect(unknown.status).toBe(404);
  await unknown.arrayBuffer();
  expect(log.requests().map((l) => [l.kind, l.status, l.user])).toEqual([
    ['list', 401, undefined],
    ['api', 404, 'admin'],
  ]);
});

// Whatever a client puts in the path or the headers, the line holds no password, token or Basic value.
test('a token in the URL path, a Basic password and a Bearer token never reach the log', async () => {
  const token = 'orb_TopSecretTokenValue123';
  const password = 'hunter2-never-logged';
  const basicValue = Buffer.from(`alice:${password}`).toString('base64');
  const paths = [
    `/go/go-proxy/example.com/${token}/@v/list`,
    `/api/v1/tokens/${token}?password=${password}`,
    `/go/go-proxy/https:/alice:${password}@example.com/@v/list`,
  ];
  for (const path of paths) await (await t.request(path, { auth: `Basic ${basicValue}` })).arrayBuffer();
  await (await t.request('/api/v1/repositories', { auth: `Bearer ${token}` })).arrayBuffer();
  expect(log.requests()).toHaveLength(paths.length + 1);
  const text = log.raw.join('');
  for (const secret of [token.slice(4), password, basicValue]) expect(text).not.toContain(secret);
  expect(text).toContain('orb_***');
});

test('requests to the host app outside the mount prefix are neither logged nor given a request id', async () => {
  const hostLog = memoryLog();
  const orbit = await createOrbitRepos({
    database: t.db.handle,
    storage: t.storage,
    log: createLogger({ format: 'json', destination: hostLog.destination }),
    settings: { adminPassword: ADMIN_PASSWORD },
    prefix: '/artifacts',
  });
  const app = new Elysia().get('/hello', () => 'host').use(orbit.plugin);
  try {
    const host = await app.handle(new Request('http://host.test/hello'));
    expect(await host.text()).toBe('host');
    expect(host.headers.get('x-request-id')).toBeNull();
    const ours = await app.handle(new Request('http://host.test/artifacts/health'));
    await ours.arrayBuffer();
    expect(ours.headers.get('x-request-id')).toMatch(UUID);
    expect(hostLog.requests().map((l) => l.path)).toEqual(['/artifacts/health']);
  } finally {
    await orbit.close();
  }
});
