import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
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

  // The zip is big enough to be streamed to its first client: that transfer is aborted (its 200 is out), and a
  // client waiting on the same fill gets the storage's failure as itself.
  test('aborts the transfer it streams, and is a 503 with Retry-After to a client waiting on it, not a bad upstream', async () => {
    const mod = 'example.com/faults/fill';
    stub.addModule(mod, 'v1.0.0', { files: { 'a.go': 'package fill\n', 'big.bin': new Uint8Array(randomBytes(3 << 20)) } });
    // The entries were digested as they streamed: the check reads the end record, then the central directory.
    store.killAtRead = 2;
    const streamed = await t.request(`/go/mirror/${mod}/@v/v1.0.0.zip`);
    const res = await t.request(`/go/mirror/${mod}/@v/v1.0.0.zip`);
    const text = await res.text();
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).not.toBeNull();
    expect(text).not.toContain('invalid module zip');
    expect(streamed.headers.get('etag')).toBeNull();
    const whole = await streamed.arrayBuffer().then(
      () => true,
      () => false,
    );
    expect(whole).toBe(false);
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

/** Delegates to the real store; once a streamed put has passed `freezeAfterBytes`, the proxy in front of S3 freezes. */
function freezingStore(inner: S3BlobStore, proxy: TcpProxy): BlobStore & { freezeAfterBytes: number } {
  const store = Object.create(inner) as BlobStore & { freezeAfterBytes: number };
  store.freezeAfterBytes = 0;
  store.put = (key, body) => {
    const limit = store.freezeAfterBytes;
    if (limit <= 0 || !(body instanceof ReadableStream)) return inner.put(key, body);
    let seen = 0;
    const counted = body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          seen += chunk.byteLength;
          if (seen >= limit) proxy.freeze();
          controller.enqueue(chunk);
        },
      }),
    );
    return inner.put(key, counted);
  };
  return store;
}

// Writes used to wait for the SDK's two-minute request timeout (times its retries) on a frozen server.
describe('S3 storage frozen during an upload', () => {
  let s3: S3rverHandle;
  let proxy: TcpProxy;
  let inner: S3BlobStore;
  let store: ReturnType<typeof freezingStore>;
  let t: TestApp;
  const mod = 'example.com/faults/frozenput';
  const WRITE_MS = 1000;
  const put = (v: string, files: Record<string, string | Uint8Array>) =>
    t.request(`/go/frozen-put/${mod}/@v/${v}.zip`, {
      method: 'PUT',
      auth: ADMIN_AUTH,
      body: buildModuleZip(mod, v, { 'go.mod': `module ${mod}\n`, ...files }),
    });
  const uploadsLeft = async () => (await inner.client.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket }))).Uploads?.length ?? 0;

  beforeAll(async () => {
    s3 = await startS3rver();
    proxy = startTcpProxy({ hostname: '127.0.0.1', port: Number(new URL(s3.endpoint).port) });
    inner = new S3BlobStore(
      { ...s3.config, endpoint: `http://127.0.0.1:${proxy.port}` },
      { quickRequestTimeoutMs: 500, writeTimeoutMs: WRITE_MS, abortRetryDelaysMs: [200, 500, 1000, 2000, 4000] },
    );
    store = freezingStore(inner, proxy);
    t = await startTestApp({ db: DB_KIND, storage: store });
    expect((await t.api('POST', '/repositories', { name: 'frozen-put', type: 'hosted', anonymousRead: true })).status).toBe(201);
    expect((await put('v1.0.0', { 'a.go': 'package frozenput\n' })).status).toBe(201);
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    proxy?.restore();
    await t?.close();
    inner?.destroy();
    proxy?.stop();
    await s3?.stop();
  });

  test(
    'a multipart upload that freezes mid-way is a 503 with Retry-After, publishes nothing and leaves no multipart upload',
    async () => {
      // 20 MiB that do not compress: three parts; the server freezes once the second part is being read.
      store.freezeAfterBytes = 10 << 20;
      const started = performance.now();
      let res: Response;
      try {
        res = await put('v1.1.0', { 'a.go': 'package frozenput\n', 'big.bin': new Uint8Array(randomBytes(20 << 20)) });
      } finally {
        store.freezeAfterBytes = 0;
        proxy.restore();
      }
      const text = await res.text();
      // The old wait was two minutes per attempt; the bound is generous for a loaded machine.
      expect(performance.now() - started).toBeLessThan(60_000);
      expect(res.status).toBe(503);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(text).toContain('storage did not complete');
      // The abort the frozen server did not take is retried once it answers again.
      await inner.settled();
      expect(await uploadsLeft()).toBe(0);
      expect(await (await t.request(`/go/frozen-put/${mod}/@v/list`)).text()).toBe('v1.0.0\n');
    },
    HANG_LIMIT_MS,
  );

  test(
    'a small upload (one PutObject) to a frozen server is a 503 with Retry-After and publishes nothing',
    async () => {
      proxy.freeze();
      const started = performance.now();
      let res: Response;
      try {
        res = await put('v1.2.0', { 'a.go': 'package frozenput\n' });
      } finally {
        proxy.restore();
      }
      await res.text();
      expect(performance.now() - started).toBeLessThan(60_000);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).not.toBeNull();
      expect(await (await t.request(`/go/frozen-put/${mod}/@v/list`)).text()).toBe('v1.0.0\n');
      // And once it thaws, the same upload goes through.
      expect((await put('v1.2.0', { 'a.go': 'package frozenput\n' })).status).toBe(201);
    },
    HANG_LIMIT_MS,
  );

  test(
    'a slow upload that keeps moving is not cut off by the per-part deadline',
    async () => {
      // 12 MiB sent in 64 KiB pieces over ~3 write deadlines: the whole takes longer than one deadline, each part less.
      const bytes = new Uint8Array(randomBytes(12 << 20));
      let offset = 0;
      const slow = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (offset >= bytes.byteLength) return controller.close();
          await Bun.sleep(12);
          controller.enqueue(bytes.subarray(offset, offset + (64 << 10)));
          offset += 64 << 10;
        },
      });
      const started = performance.now();
      const stat = await inner.put('tmp/slow-test', slow);
      expect(stat.size).toBe(bytes.byteLength);
      expect(performance.now() - started).toBeGreaterThan(WRITE_MS);
      const back = new Uint8Array(await new Response(await inner.get('tmp/slow-test')).arrayBuffer());
      expect(Buffer.compare(back, bytes)).toBe(0);
    },
    HANG_LIMIT_MS,
  );
});
