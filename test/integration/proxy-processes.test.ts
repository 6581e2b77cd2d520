import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { ADMIN_AUTH } from '../support/app';
import { createTestDatabaseUrl } from '../support/db';
import { HANG_LIMIT_MS } from '../support/limits';
import { type S3rverHandle, startS3rver } from '../support/s3rver';
import { type ServerProcess, startServerProcess } from '../support/server';
import { type StubUpstream, startStubUpstream } from '../support/stub-upstream';

const pgUrl = process.env.ORBITREPO_TEST_DATABASE_URL;
if (!pgUrl) console.warn('SKIPPED proxy-processes: set ORBITREPO_TEST_DATABASE_URL to run two server processes against one PostgreSQL');

// Two `bun run src/index.ts` processes sharing one PostgreSQL database and one S3 bucket, as a
// horizontally scaled deployment would: a cold miss must still cost the upstream one request.
describe.skipIf(!pgUrl)('proxy coalescing across two server processes', () => {
  let stub: StubUpstream;
  let s3: S3rverHandle;
  let database: { url: string; drop(): Promise<void> };
  let a: ServerProcess;
  let b: ServerProcess;

  beforeAll(async () => {
    stub = await startStubUpstream();
    s3 = await startS3rver();
    database = await createTestDatabaseUrl();
    const env = {
      ORBITREPO_DATABASE_URL: database.url,
      ORBITREPO_STORAGE_TYPE: 's3',
      ORBITREPO_S3_BUCKET: s3.bucket,
      ORBITREPO_S3_ENDPOINT: s3.endpoint,
      ORBITREPO_S3_ACCESS_KEY_ID: s3.accessKeyId,
      ORBITREPO_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      ORBITREPO_S3_FORCE_PATH_STYLE: 'true',
    };
    [a, b] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
    const res = await fetch(`${a.url}/api/v1/repositories`, {
      method: 'POST',
      headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'go-proxy', type: 'proxy', remoteUrl: stub.url }),
    });
    expect(res.status).toBe(201);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await database?.drop();
    await s3?.stop();
    await stub?.close();
  }, HANG_LIMIT_MS);

  test('concurrent cold requests to both processes make one upstream request, and both serve the same bytes', async () => {
    const module = 'example.com/twoproc/m';
    const zip = new Uint8Array(
      stub.addModule(module, 'v1.0.0', { files: { 'big.bin': crypto.getRandomValues(new Uint8Array(256 * 1024)) } }),
    );
    const p = stub.paths(module, 'v1.0.0');
    // Slow enough that every request arrives while the first fetch is still streaming.
    stub.fault(p.zip, { kind: 'slow', chunkBytes: 16 * 1024, delayMs: 40 });
    const path = `/go/go-proxy/${module}/@v/v1.0.0.zip`;
    const results = await Promise.all(
      [a, b, a, b, a, b, a, b, a, b].map(async (server) => {
        const res = await fetch(server.url + path);
        return { status: res.status, bytes: new Uint8Array(await res.arrayBuffer()) };
      }),
    );
    for (const r of results) expect(r).toEqual({ status: 200, bytes: zip });
    expect(stub.count(p.zip)).toBe(1);
  });

  test('a zip big enough to stream goes to one client as it arrives; the others, in both processes, get the stored zip', async () => {
    const module = 'example.com/twoproc/streamed';
    const zip = new Uint8Array(stub.addModule(module, 'v1.0.0', { files: { 'big.bin': new Uint8Array(randomBytes(2 << 20)) } }));
    const p = stub.paths(module, 'v1.0.0');
    stub.fault(p.zip, { kind: 'slow', chunkBytes: 256 * 1024, delayMs: 40 });
    const path = `/go/go-proxy/${module}/@v/v1.0.0.zip`;
    const results = await Promise.all(
      [a, b, a, b, a, b].map(async (server) => {
        const res = await fetch(server.url + path);
        return { status: res.status, etag: res.headers.get('etag'), bytes: new Uint8Array(await res.arrayBuffer()) };
      }),
    );
    for (const r of results) expect({ status: r.status, bytes: r.bytes }).toEqual({ status: 200, bytes: zip });
    expect(results.filter((r) => r.etag === null)).toHaveLength(1);
    expect(stub.count(p.zip)).toBe(1);
  });

  test('list refreshes are coalesced across processes too', async () => {
    const module = 'example.com/twoproc/list';
    stub.addModule(module, 'v1.0.0');
    const p = stub.paths(module);
    stub.fault(p.list, { kind: 'slow', chunkBytes: 2, delayMs: 50 });
    const bodies = await Promise.all(
      [a, b, a, b].map(async (server) => (await fetch(`${server.url}/go/go-proxy/${module}/@v/list`)).text()),
    );
    expect(bodies).toEqual(Array(4).fill('v1.0.0\n'));
    expect(stub.count(p.list)).toBe(1);
  });

  test('a version cached through one process is served by the other without the upstream', async () => {
    const module = 'example.com/twoproc/shared';
    stub.addModule(module, 'v1.0.0');
    const p = stub.paths(module, 'v1.0.0');
    expect((await fetch(`${a.url}/go/go-proxy/${module}/@v/v1.0.0.mod`)).status).toBe(200);
    stub.fault(p.mod, { kind: 'status', status: 500 });
    const res = await fetch(`${b.url}/go/go-proxy/${module}/@v/v1.0.0.mod`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain(`module ${module}`);
    expect(stub.count(p.mod)).toBe(1);
  });
});
