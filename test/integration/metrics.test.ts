import { afterAll, beforeAll, expect, test } from 'bun:test';
import { Elysia } from 'elysia';
import { Registry } from 'prom-client';
import { silentLogger } from '../../src/log';
import { createOrbitRepos, type OrbitReposOptions } from '../../src/plugin';
import { ADMIN_AUTH, ADMIN_PASSWORD, startTestApp, type TestApp } from '../support/app';
import { expireProxyAnswers } from '../support/expire';
import { sample } from '../support/metrics';
import { type StubUpstream, startStubUpstream } from '../support/stub-upstream';
import { buildModuleZip } from '../support/zipbuild';

// The counters count HTTP, proxy and storage events, not SQL: one database driver is enough here.
let t: TestApp;
let stub: StubUpstream;

beforeAll(async () => {
  stub = await startStubUpstream();
  t = await startTestApp();
  expect((await t.api('POST', '/repositories', { name: 'go-hosted', type: 'hosted' })).status).toBe(201);
  // Checksum lookups are counted by the checksum tests; here a fill is one upstream request.
  expect(
    (
      await t.api('POST', '/repositories', {
        name: 'go-proxy',
        type: 'proxy',
        remoteUrl: stub.url,
        settings: { checksumVerification: 'off' },
      })
    ).status,
  ).toBe(201);
}, 180_000);
afterAll(async () => {
  await t?.close();
  await stub?.close();
});

/** A second plugin instance over the same database and storage (a fresh embedded database costs seconds here). */
async function mount(opts: Partial<OrbitReposOptions>) {
  const orbit = await createOrbitRepos({
    database: t.db.handle,
    storage: t.storage,
    log: silentLogger,
    settings: { adminPassword: ADMIN_PASSWORD },
    ...opts,
  });
  const app = new Elysia().use(orbit.plugin);
  const prefix = opts.prefix ?? '';
  return {
    request: (path: string, auth?: string) =>
      app.handle(new Request(`http://orbit.test${prefix}${path}`, { headers: auth ? { authorization: auth } : {} })),
    close: () => orbit.close(),
  };
}

const scrape = async () => {
  const res = await t.request('/metrics');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
  return res.text();
};
const get = async (path: string) => {
  const res = await t.request(path, { auth: ADMIN_AUTH });
  return { status: res.status, bytes: (await res.arrayBuffer()).byteLength };
};

test('after real traffic the counters moved by exactly what happened', async () => {
  const hostedZip = buildModuleZip('example.com/metered', 'v1.0.0', { 'go.mod': 'module example.com/metered\n', 'a.go': 'package a\n' });
  const proxiedZip = new Uint8Array(stub.addModule('example.com/proxied', 'v1.2.0'));
  const before = await scrape();

  const up = await t.request('/go/go-hosted/example.com/metered/@v/v1.0.0.zip', { method: 'PUT', auth: ADMIN_AUTH, body: hostedZip });
  expect(up.status).toBe(201);
  await up.arrayBuffer();
  expect(await get('/go/go-hosted/example.com/metered/@v/list')).toEqual({ status: 200, bytes: 'v1.0.0\n'.length });
  expect((await get('/go/go-hosted/example.com/metered/@v/v1.0.0.zip')).bytes).toBe(hostedZip.byteLength);
  expect((await get('/go/go-hosted/example.com/metered/@v/v1.0.0.zip')).bytes).toBe(hostedZip.byteLength);
  // A proxy fill from the loopback upstream, then the same file from storage.
  expect(await get('/go/go-proxy/example.com/proxied/@v/v1.2.0.zip')).toEqual({ status: 200, bytes: proxiedZip.byteLength });
  // Answered once checked and stored right after: the next request is a hit, not one joining the fill.
  await t.ctx.coalescer.settled();
  expect(await get('/go/go-proxy/example.com/proxied/@v/v1.2.0.zip')).toEqual({ status: 200, bytes: proxiedZip.byteLength });
  // A 404 from the upstream, remembered: the second ask never reaches it.
  expect((await get('/go/go-proxy/example.com/absent/@v/v0.1.0.info')).status).toBe(404);
  expect((await get('/go/go-proxy/example.com/absent/@v/v0.1.0.info')).status).toBe(404);
  expect((await get('/go/go-hosted/example.com/metered/@v/v9.9.9.info')).status).toBe(404);

  const after = await scrape();
  const delta = (name: string, labels: Record<string, string> = {}) => sample(after, name, labels) - sample(before, name, labels);

  expect(delta('orbitrepos_http_requests_total', { kind: 'upload', status: '201' })).toBe(1);
  expect(delta('orbitrepos_http_requests_total', { kind: 'list', status: '200' })).toBe(1);
  expect(delta('orbitrepos_http_requests_total', { kind: 'zip', status: '200' })).toBe(4);
  expect(delta('orbitrepos_http_requests_total', { kind: 'info', status: '404' })).toBe(3);
  // The first scrape is counted once it has answered; this one is not yet.
  expect(delta('orbitrepos_http_requests_total', { kind: 'other', status: '200' })).toBe(1);
  expect(delta('orbitrepos_http_request_duration_seconds_count', { kind: 'zip', status: '200' })).toBe(4);
  expect(delta('orbitrepos_http_response_bytes_total', { kind: 'zip' })).toBe(2 * hostedZip.byteLength + 2 * proxiedZip.byteLength);

  expect(delta('orbitrepos_cache_requests_total', { repository: 'go-proxy', outcome: 'miss' })).toBe(2);
  expect(delta('orbitrepos_cache_requests_total', { repository: 'go-proxy', outcome: 'hit' })).toBe(1);
  expect(delta('orbitrepos_cache_requests_total', { repository: 'go-proxy', outcome: 'negative_hit' })).toBe(1);
  expect(delta('orbitrepos_upstream_requests_total', { repository: 'go-proxy', status: '200' })).toBe(1);
  expect(delta('orbitrepos_upstream_requests_total', { repository: 'go-proxy', status: '404' })).toBe(1);
  expect(delta('orbitrepos_upstream_errors_total', { repository: 'go-proxy', reason: '5xx' })).toBe(0);
  expect(delta('orbitrepos_upstream_request_duration_seconds_count', { repository: 'go-proxy' })).toBe(2);
  expect(delta('orbitrepos_fills_total', { repository: 'go-proxy', kind: 'zip', result: 'ok' })).toBe(1);
  expect(delta('orbitrepos_fills_total', { repository: 'go-proxy', kind: 'info', result: 'error' })).toBe(1);
  expect(delta('orbitrepos_fill_bytes_total', { repository: 'go-proxy', kind: 'zip' })).toBe(proxiedZip.byteLength);
  expect(sample(after, 'orbitrepos_fills_in_flight', { repository: 'go-proxy' })).toBe(0);
  expect(delta('orbitrepos_storage_operation_duration_seconds_count', { operation: 'put', result: 'ok' })).toBeGreaterThanOrEqual(2);
  expect(after).toContain('# TYPE orbitrepos_checksum_refusals_total counter');
  // The hosted answers just served are held in memory, and the gauge says how much.
  expect(sample(after, 'orbitrepos_memory_cache_bytes', { cache: 'memory' })).toBeGreaterThan(0);
  // Each answer kept is one entry of the version-answers region: the hosted list, zip and 404, the proxied
  // zip and the proxy's remembered 404 (second asks are hits, not new entries).
  const answers = { region: 'repos.answers' };
  expect(delta('orbitrepos_memory_cache_region_entries', answers)).toBe(5);
  expect(delta('orbitrepos_memory_cache_region_bytes', answers)).toBeGreaterThan(5 * 96);
  // The scrape reads the cache as it stands: every region, summing to the cache's total.
  const { regions, bytes } = t.ctx.cache.stats();
  expect(regions.map((r) => r.name)).toContain('auth.users');
  for (const r of regions) {
    expect(sample(after, 'orbitrepos_memory_cache_region_bytes', { region: r.name })).toBe(r.bytes);
    expect(sample(after, 'orbitrepos_memory_cache_region_entries', { region: r.name })).toBe(r.entries);
  }
  expect(regions.reduce((n, r) => n + r.bytes, 0)).toBe(bytes);
  expect(sample(after, 'orbitrepos_memory_cache_bytes', { cache: 'memory' })).toBe(bytes);
});

test('an upstream failure counts as an upstream error and the stale answer as stale', async () => {
  stub.addModule('example.com/flaky', 'v1.0.0');
  expect((await get('/go/go-proxy/example.com/flaky/@v/list')).status).toBe(200);
  // Age the cached list so that the next ask goes upstream, which now fails.
  await expireProxyAnswers(t.ctx);
  stub.fault(stub.paths('example.com/flaky').list, { kind: 'status', status: 503 });
  const before = await scrape();
  expect((await get('/go/go-proxy/example.com/flaky/@v/list')).status).toBe(200);
  const after = await scrape();
  const delta = (name: string, labels: Record<string, string>) => sample(after, name, labels) - sample(before, name, labels);
  expect(delta('orbitrepos_cache_requests_total', { repository: 'go-proxy', outcome: 'stale' })).toBe(1);
  // The client retries a 503 twice: three attempts, three errors.
  expect(delta('orbitrepos_upstream_errors_total', { repository: 'go-proxy', reason: '5xx' })).toBe(3);
});

test('an in-memory cache registered by name is reported at each scrape, until it unregisters', async () => {
  let bytes = 1234;
  const unregister = t.ctx.metrics.registerCacheSize('example', () => bytes);
  expect(sample(await scrape(), 'orbitrepos_memory_cache_bytes', { cache: 'example' })).toBe(1234);
  bytes = 99;
  expect(sample(await scrape(), 'orbitrepos_memory_cache_bytes', { cache: 'example' })).toBe(99);
  unregister();
  expect(await scrape()).not.toContain('cache="example"');
});

// A host mounting two plugin instances on one registry gets one series per region, not the last one's.
test('cache regions reported by two instances are summed by region, and an unregistered one drops out', async () => {
  const report = () => [{ name: 'example.region', bytes: 10, entries: 1 }];
  const first = t.ctx.metrics.registerCacheRegions(report);
  const second = t.ctx.metrics.registerCacheRegions(report);
  const region = { region: 'example.region' };
  let text = await scrape();
  expect(sample(text, 'orbitrepos_memory_cache_region_bytes', region)).toBe(20);
  expect(sample(text, 'orbitrepos_memory_cache_region_entries', region)).toBe(2);
  first();
  text = await scrape();
  expect(sample(text, 'orbitrepos_memory_cache_region_bytes', region)).toBe(10);
  expect(sample(text, 'orbitrepos_memory_cache_region_entries', region)).toBe(1);
  second();
  text = await scrape();
  expect(text).not.toContain('region="example.region"');
  expect(sample(text, 'orbitrepos_memory_cache_region_entries', { region: 'repos.answers' })).toBe(
    t.ctx.cache.stats().regions.find((r) => r.name === 'repos.answers')?.entries ?? -1,
  );
});

test('with a token, /metrics answers 401 to a scraper without it and the metrics to one with it', async () => {
  const token = 'metrics-token-0123456789';
  const app = await mount({ metrics: { token } });
  try {
    const none = await app.request('/metrics');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Bearer');
    expect((await app.request('/metrics', 'Bearer wrong-token-0123456789')).status).toBe(401);
    expect((await app.request('/metrics', ADMIN_AUTH)).status).toBe(401);
    const ok = await app.request('/metrics', `Bearer ${token}`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('orbitrepos_http_requests_total');
  } finally {
    await app.close();
  }
});

test('metrics switched off: no /metrics route', async () => {
  const app = await mount({ metrics: false });
  try {
    expect((await app.request('/metrics')).status).toBe(404);
    expect((await app.request('/health')).status).toBe(200);
  } finally {
    await app.close();
  }
});

test("a host's own registry receives the instruments, under the mount prefix, without our process metrics", async () => {
  const registry = new Registry();
  const app = await mount({ prefix: '/artifacts', metrics: { registry } });
  try {
    expect((await app.request('/health')).status).toBe(200);
    const text = await registry.metrics();
    expect(sample(text, 'orbitrepos_http_requests_total', { kind: 'other', status: '200' })).toBe(1);
    expect(text).not.toContain('orbitrepos_process_cpu');
    expect((await app.request('/metrics')).status).toBe(200);
  } finally {
    await app.close();
  }
});
