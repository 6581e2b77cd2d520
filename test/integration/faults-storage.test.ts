import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import type { BlobStore } from '../../src/storage/blob-store';
import { S3BlobStore } from '../../src/storage/s3-blob-store';
import { ADMIN_AUTH, startTestApp, type TestApp } from '../support/app';
import { HANG_LIMIT_MS } from '../support/limits';
import { type S3rverHandle, startS3rver } from '../support/s3rver';
import { type StubUpstream, startStubUpstream } from '../support/stub-upstream';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy';
import { buildModuleZip } from '../support/zipbuild';

/** PostgreSQL when there is one: PGlite can take most of a minute to start on a busy machine. */
const DB_KIND = process.env.ORBITREPO_TEST_DATABASE_URL ? 'postgres' : 'pglite';

/** Delegates to the real store; the `killAtRead`-th read from now stops the S3 server first. */
function killableStore(inner: S3BlobStore, s3: S3rverHandle): BlobStore & { killAtRead: number } {
  const store = Object.create(inner) as BlobStore & { killAtRead: number };
  store.killAtRead = 0;
  store.get = async (key, range) => {
    if (store.killAtRead > 0 && --store.killAtRead === 0) await s3.stop();
    return inner.get(key, range);
  };
  return store;
}

// The S3 server really dies (the child process ends), between staging an upload and checking its zip.
describe('S3 storage going away', () => {
  let s3: S3rverHandle;
  let inner: S3BlobStore;
  let store: ReturnType<typeof killableStore>;
  let t: TestApp;
  const mod = 'example.com/faults/s3';
  // 3 MiB that do not compress: the zip check reads it in several ranged GETs (1 MiB read-ahead), so the
  // third GET falls in the middle of an entry's data.
  const big = new Uint8Array(randomBytes(3 << 20));
  const zipOf = (v: string) => buildModuleZip(mod, v, { 'go.mod': `module ${mod}\n`, 'a.go': 'package s3\n', 'big.bin': big });
  const put = (v: string) => t.request(`/go/s3-faults/${mod}/@v/${v}.zip`, { method: 'PUT', auth: ADMIN_AUTH, body: zipOf(v) });

  beforeAll(async () => {
    s3 = await startS3rver();
    inner = new S3BlobStore(s3.config);
    store = killableStore(inner, s3);
    t = await startTestApp({ db: DB_KIND, storage: store });
    expect((await t.api('POST', '/repositories', { name: 's3-faults', type: 'hosted', anonymousRead: true })).status).toBe(201);
    expect((await put('v1.0.0')).status).toBe(201);
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await t?.close();
    inner?.destroy();
    await s3?.stop();
  });

  test('an upload whose storage dies during the zip check is a 503 with Retry-After, not a bad zip', async () => {
    store.killAtRead = 3;
    const res = await put('v1.1.0');
    const text = await res.text();
    expect(res.status).toBe(503);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(text).not.toContain('corrupt');
    expect(text).toContain('unavailable');
    // Nothing half-published: the version is not listed.
    expect(await (await t.request(`/go/s3-faults/${mod}/@v/list`)).text()).toBe('v1.0.0\n');
  });

  test('reading a published zip from a stopped S3 server is a 503 with Retry-After', async () => {
    const res = await t.request(`/go/s3-faults/${mod}/@v/v1.0.0.zip`);
    expect(res.status).toBe(503);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  test('an upload to a stopped S3 server is a 503, not a 400 or 500', async () => {
    const res = await put('v1.2.0');
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).not.toBeNull();
  });

  test('readiness says 503 and names the storage', async () => {
    const res = await t.request('/ready');
    expect(res.status).toBe(503);
    expect(JSON.stringify(await res.json())).toContain('storage');
  });
});

// Before, a proxy fill whose storage died during the zip check blamed the upstream: "served an invalid module zip" (502).
describe('S3 storage going away during a proxy fill', () => {
  let s3: S3rverHandle;
  let inner: S3BlobStore;
  let store: ReturnType<typeof killableStore>;
  let stub: StubUpstream;
  let t: TestApp;

  beforeAll(async () => {
    s3 = await startS3rver();
    inner = new S3BlobStore(s3.config);
    store = killableStore(inner, s3);
    stub = await startStubUpstream();
    t = await startTestApp({ db: DB_KIND, storage: store });
    expect((await t.api('POST', '/repositories', { name: 'mirror', type: 'proxy', remoteUrl: stub.url, anonymousRead: true })).status).toBe(
      201,
    );
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await t?.close();
    await stub?.close();
    inner?.destroy();
    await s3?.stop();
  });

  test('is a 503 with Retry-After, not a bad upstream', async () => {
    const mod = 'example.com/faults/fill';
    stub.addModule(mod, 'v1.0.0', { files: { 'a.go': 'package fill\n', 'big.bin': new Uint8Array(randomBytes(3 << 20)) } });
    store.killAtRead = 3;
    const res = await t.request(`/go/mirror/${mod}/@v/v1.0.0.zip`);
    const text = await res.text();
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).not.toBeNull();
    expect(text).not.toContain('invalid module zip');
  });
});

// A frozen S3 server (it accepts connections and answers nothing) used to hold every read for the SDK's two minutes, times its retries.
describe('S3 storage frozen', () => {
  let s3: S3rverHandle;
  let proxy: TcpProxy;
  let store: S3BlobStore;
  let t: TestApp;
  const mod = 'example.com/faults/frozen';
  const QUICK_MS = 500;

  beforeAll(async () => {
    s3 = await startS3rver();
    proxy = startTcpProxy({ hostname: '127.0.0.1', port: Number(new URL(s3.endpoint).port) });
    store = new S3BlobStore({ ...s3.config, endpoint: `http://127.0.0.1:${proxy.port}` }, { quickRequestTimeoutMs: QUICK_MS });
    t = await startTestApp({ db: DB_KIND, storage: store });
    expect((await t.api('POST', '/repositories', { name: 'frozen', type: 'hosted', anonymousRead: true })).status).toBe(201);
    const zip = buildModuleZip(mod, 'v1.0.0', { 'go.mod': `module ${mod}\n`, 'a.go': 'package frozen\n' });
    expect((await t.request(`/go/frozen/${mod}/@v/v1.0.0.zip`, { method: 'PUT', auth: ADMIN_AUTH, body: zip })).status).toBe(201);
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    proxy?.restore();
    await t?.close();
    store?.destroy();
    proxy?.stop();
    await s3?.stop();
  });

  test('a read is a 503 with Retry-After within a few request timeouts, and works again once it thaws', async () => {
    proxy.freeze();
    const started = performance.now();
    let res: Response;
    try {
      res = await t.request(`/go/frozen/${mod}/@v/v1.0.0.zip`);
    } finally {
      proxy.restore();
    }
    // The SDK tries three times with backoff; the bound is generous, the old behaviour was minutes.
    expect(performance.now() - started).toBeLessThan(QUICK_MS * 3 + 10_000);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).not.toBeNull();
    await res.arrayBuffer();
    const again = await t.request(`/go/frozen/${mod}/@v/v1.0.0.zip`);
    expect(again.status).toBe(200);
  });
});
