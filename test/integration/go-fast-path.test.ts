import { afterAll, beforeAll, beforeEach, expect, test } from 'bun:test';
import { Elysia } from 'elysia';
import { createLogger } from '../../src/log';
import { requestLogContext } from '../../src/observability/request-scope';
import { ADMIN_AUTH, basic } from '../support/app';
import { memoryLog } from '../support/metrics';
import { startTestServer, type TestServer } from '../support/server';
import { buildModuleZip } from '../support/zipbuild';

// The standalone server answers GET/HEAD /go/… through its fast path (no Elysia lifecycle); hosts that mount
// the plugin get the Elysia route. Both must give the same answers and the same access-log lines.
const log = memoryLog();
let server: TestServer;
let viaElysia: (path: string, init?: RequestInit) => Promise<Response>;
let stopElysia: () => Promise<void>;
let readerToken: string;
let etag: string;
const MOD = 'example.com/Fast/path';
const ESCAPED = 'example.com/!fast/path';

beforeAll(async () => {
  server = await startTestServer({ log: createLogger({ format: 'json', destination: log.destination, context: requestLogContext }) });
  // The plugin as a host mounts it, listening too, so that both answers come over HTTP.
  const app = new Elysia().use(server.orbit.plugin).listen({ hostname: '127.0.0.1', port: 0 });
  stopElysia = async () => void (await app.stop(true));
  viaElysia = (path, init) => fetch(`http://127.0.0.1:${app.server!.port}${path}`, init);
  const api = (method: string, path: string, body?: unknown, auth = ADMIN_AUTH) =>
    fetch(`${server.url}/api/v1${path}`, {
      method,
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  expect((await api('POST', '/repositories', { name: 'pub', type: 'hosted', anonymousRead: true })).status).toBe(201);
  expect((await api('POST', '/repositories', { name: 'priv', type: 'hosted', anonymousRead: false })).status).toBe(201);
  expect((await api('POST', '/users', { username: 'reader', password: 'reader-password' })).status).toBe(201);
  expect((await api('POST', '/users', { username: 'stranger', password: 'stranger-password' })).status).toBe(201);
  expect((await api('PUT', '/repositories/priv/permissions/reader', { role: 'read' })).status).toBeLessThan(300);
  readerToken = (await (await api('POST', '/tokens', { name: 't' }, basic('reader', 'reader-password'))).json()).token;
  for (const repo of ['pub', 'priv']) {
    const zip = buildModuleZip(MOD, 'v1.0.0', { 'go.mod': `module ${MOD}\n`, 'x.go': 'package x\n' }) as Uint8Array<ArrayBuffer>;
    const res = await fetch(`${server.url}/go/${repo}/${ESCAPED}/@v/v1.0.0.zip`, {
      method: 'PUT',
      headers: { authorization: ADMIN_AUTH },
      body: zip,
    });
    expect(res.status).toBe(201);
  }
  etag = (await fetch(`${server.url}/go/pub/${ESCAPED}/@v/v1.0.0.mod`)).headers.get('etag') ?? '';
  expect(etag).not.toBe('');
}, 180_000);
afterAll(async () => {
  await stopElysia?.();
  await server?.stop();
});
beforeEach(() => {
  log.raw.length = 0;
});

const HEADERS = ['content-type', 'cache-control', 'etag', 'content-length', 'accept-ranges', 'content-range', 'www-authenticate', 'allow'];

async function answer(res: Response) {
  const headers: Record<string, string | null> = {};
  for (const h of HEADERS) headers[h] = res.headers.get(h);
  return { status: res.status, headers, body: await res.text(), requestId: res.headers.get('x-request-id') };
}

const cases: [string, string, RequestInit?][] = [
  ['a hit', `/go/pub/${ESCAPED}/@v/v1.0.0.info`],
  ['a HEAD', `/go/pub/${ESCAPED}/@v/v1.0.0.info`, { method: 'HEAD' }],
  ['a .mod', `/go/pub/${ESCAPED}/@v/v1.0.0.mod`],
  ['a .zip', `/go/pub/${ESCAPED}/@v/v1.0.0.zip`],
  ['the list', `/go/pub/${ESCAPED}/@v/list`],
  ['@latest', `/go/pub/${ESCAPED}/@latest`],
  ['a range', `/go/pub/${ESCAPED}/@v/v1.0.0.mod`, { headers: { range: 'bytes=0-3' } }],
  ['an unknown version', `/go/pub/${ESCAPED}/@v/v9.9.9.info`],
  ['a path that breaks the protocol', '/go/pub/Example.com/x/@v/list'],
  ['a query string', `/go/pub/${ESCAPED}/@v/list?x=1`],
  ['a private repository, anonymous', `/go/priv/${ESCAPED}/@v/v1.0.0.info`],
  [
    'a private repository, a wrong token',
    `/go/priv/${ESCAPED}/@v/v1.0.0.info`,
    { headers: { authorization: basic('reader', 'orb_nope') } },
  ],
  [
    'a private repository, a stranger',
    `/go/priv/${ESCAPED}/@v/v1.0.0.info`,
    { headers: { authorization: basic('stranger', 'stranger-password') } },
  ],
  ['a private repository, a reader token', `/go/priv/${ESCAPED}/@v/v1.0.0.info`, { headers: { authorization: `Bearer ${'TOKEN'}` } }],
  ['a repository that does not exist', '/go/nope/example.com/x/@v/list'],
  ['a request id', `/go/pub/${ESCAPED}/@v/list`, { headers: { 'x-request-id': 'ci-7.step:3' } }],
];

test.each(cases)('%s: the fast path answers as the Elysia route, and logs the same line', async (_what, path, init = {}) => {
  const headers = new Headers(init.headers);
  if (headers.get('authorization') === 'Bearer TOKEN') headers.set('authorization', `Bearer ${readerToken}`);
  const fast = await answer(await fetch(`${server.url}${path}`, { ...init, headers }));
  const slow = await answer(await viaElysia(path, { ...init, headers }));
  expect(fast).toEqual({ ...slow, requestId: fast.requestId });
  expect(fast.requestId).toMatch(/\S/);
  if (headers.has('x-request-id')) expect(fast.requestId).toBe(headers.get('x-request-id'));
  const [a, b] = log.requests();
  expect(log.requests()).toHaveLength(2);
  const same = ({ requestId: _id, durationMs: _ms, time: _t, client: _c, ...rest }: Record<string, unknown>) => rest;
  expect(same(a)).toEqual(same(b));
  expect(a.requestId).toBe(fast.requestId);
});

test('an If-None-Match holding the ETag is a 304 on both', async () => {
  const path = `/go/pub/${ESCAPED}/@v/v1.0.0.mod`;
  const fast = await answer(await fetch(`${server.url}${path}`, { headers: { 'if-none-match': etag } }));
  const slow = await answer(await viaElysia(path, { headers: { 'if-none-match': etag } }));
  expect(fast.status).toBe(304);
  expect(fast).toEqual({ ...slow, requestId: fast.requestId });
});

test('the fast path takes plain GET and HEAD, and leaves the rest to the app', () => {
  const take = (path: string, init?: RequestInit) => server.orbit.goFastPath!(new Request(`http://orbit.test${path}`, init), null);
  const taken = [take(`/go/pub/${ESCAPED}/@v/list`), take(`/go/pub/${ESCAPED}/@v/list`, { method: 'HEAD' })];
  for (const t of taken) expect(t instanceof Response || t instanceof Promise).toBe(true);
  expect(take(`/go/pub/${ESCAPED}/@v/v1.0.0.zip`, { method: 'PUT', body: 'x' })).toBeUndefined();
  expect(take(`/go/pub/example.com/%21fast/path/@v/list`)).toBeUndefined();
  expect(take('/go/pub/example.com/.x/@v/list')).toBeUndefined();
  expect(take('/api/v1/repositories')).toBeUndefined();
  expect(take(`/go/pub/${ESCAPED}/@v/list`, { headers: { 'content-length': '0' } })).toBeUndefined();
  return Promise.all(taken.map(async (t) => (await t)?.text()));
});

// The warm path's point: an answer held in memory goes out in the same turn of the event loop, no promise made.
test('a remembered answer is given without a promise; a first one, and a credential not seen yet, through one', async () => {
  const path = `/go/pub/${ESCAPED}/@v/v1.0.0.info`;
  const take = (init?: RequestInit) => server.orbit.goFastPath!(new Request(`http://orbit.test${path}`, init), null)!;
  const first = take();
  const warm = take();
  expect(warm).toBeInstanceOf(Response);
  expect(((await warm) as Response).status).toBe(200);
  expect(await (await first).text()).toBe(await (warm as Response).text());
  const stranger = take({ headers: { authorization: `Basic ${btoa('nobody:orb_not_a_token')}` } });
  expect(stranger).toBeInstanceOf(Promise);
  expect((await stranger).status).toBe(401);
});

// The answers from memory take the same bad paths as the full path: a range past the end, a remembered 404,
// a caller who may not read the repository (never answered from memory, whatever is there).
test('from memory: a Range past the end is a 416, a remembered 404 a 404, an anonymous caller of a private repository a 401', async () => {
  const take = (path: string, init?: RequestInit) => server.orbit.goFastPath!(new Request(`http://orbit.test${path}`, init), null)!;
  const zip = `/go/pub/${ESCAPED}/@v/v1.0.0.zip`;
  await (await take(zip)).arrayBuffer();
  const past = take(zip, { headers: { range: 'bytes=100000-' } });
  expect(past).toBeInstanceOf(Response);
  expect([(past as Response).status, (past as Response).headers.get('content-range')]).toEqual([
    416,
    expect.stringMatching(/^bytes \*\/\d+$/),
  ]);

  const missing = `/go/pub/${ESCAPED}/@v/v9.9.9.info`;
  expect((await take(missing)).status).toBe(404);
  const remembered = take(missing);
  expect(remembered).toBeInstanceOf(Response);
  expect((remembered as Response).status).toBe(404);

  const privInfo = `/go/priv/${ESCAPED}/@v/v1.0.0.info`;
  expect((await take(privInfo, { headers: { authorization: basic('reader', readerToken) } })).status).toBe(200);
  const anonymous = take(privInfo);
  expect(anonymous).toBeInstanceOf(Promise);
  expect((await anonymous).status).toBe(401);
  const lines = log.requests().filter((l) => l.path === privInfo);
  expect(lines.map((l) => l.status)).toEqual([200, 401]);
});
