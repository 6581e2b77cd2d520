import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { type LogFields, silentLogger } from '../../src/log';
import { HELD_TAIL_BYTES } from '../../src/repos/arriving';
import { STREAM_ZIPS_FROM_BYTES } from '../../src/repos/zip-fill';
import { ADMIN_AUTH, startTestApp, type TestApp } from '../support/app';
import { testDatabaseKinds } from '../support/db';
import { HANG_LIMIT_MS } from '../support/limits';
import { startTestServer, type TestServer } from '../support/server';
import { type StubUpstream, startStubUpstream } from '../support/stub-upstream';
import { stagedKeys, versionRow } from '../support/version-rows';
import { buildModuleZip } from '../support/zipbuild';

/** Incompressible, so the zip is past the size from which fills are streamed. */
const bigFile = () => new Uint8Array(randomBytes(STREAM_ZIPS_FROM_BYTES * 2));

/** Reads a body to its end or its failure: the bytes received, and whether it ended cleanly. */
async function drain(res: Response): Promise<{ bytes: Uint8Array; complete: boolean; error?: string }> {
  const parts: Uint8Array[] = [];
  const reader = res.body!.getReader();
  try {
    for (let r = await reader.read(); !r.done; r = await reader.read()) parts.push(r.value);
    return { bytes: Buffer.concat(parts), complete: true };
  } catch (err) {
    return { bytes: Buffer.concat(parts), complete: false, error: String(err) };
  }
}

describe.each(testDatabaseKinds())('a cold zip fill streamed to its first client on %s', (dbKind) => {
  let t: TestApp;
  let stub: StubUpstream;
  let second: StubUpstream;
  let n = 0;
  const errors: { message: string; fields?: LogFields }[] = [];
  const fresh = () => {
    const module = `example.com/streamed/m${++n}`;
    const files = { 'go.mod': `module ${module}\n\ngo 1.21\n`, 'data.bin': bigFile() };
    const zip = new Uint8Array(stub.addModule(module, 'v1.0.0', { files }));
    return { module, zip, p: stub.paths(module, 'v1.0.0'), url: `/go/go-proxy/${module}/@v/v1.0.0.zip` };
  };
  const row = async (module: string) => {
    // The client has its last bytes once the zip is checked; the row is written right after.
    await t.ctx.coalescer.settled();
    return versionRow(t, module);
  };
  const staged = () => stagedKeys(t);
  /** The first client of a fill that fails: a 200 whose body breaks off before the end record, and nothing kept. */
  const expectAborted = async (m: ReturnType<typeof fresh>, size: number) => {
    const res = await t.request(m.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBeNull();
    const got = await drain(res);
    expect(got.complete).toBe(false);
    expect(got.bytes.byteLength).toBeLessThanOrEqual(size - HELD_TAIL_BYTES);
    expect((await row(m.module))?.zipKey ?? null).toBeNull();
    expect(await staged()).toEqual([]);
  };

  beforeAll(async () => {
    stub = await startStubUpstream();
    t = await startTestApp({ db: dbKind, log: { ...silentLogger, error: (message, fields) => errors.push({ message, fields }) } });
    const created = await t.api('POST', '/repositories', {
      name: 'go-proxy',
      type: 'proxy',
      remoteUrl: stub.url,
      settings: { connectTimeoutMs: 500, responseTimeoutMs: 2000 },
    });
    expect(created.status).toBe(201);
    second = await startStubUpstream();
    // The second proxy does not check the checksum database: its upstream's zips are made here, unknown to the first's.
    const settings = { checksumVerification: 'off' };
    expect((await t.api('POST', '/repositories', { name: 'go-proxy-2', type: 'proxy', remoteUrl: second.url, settings })).status).toBe(201);
    expect(
      (await t.api('POST', '/repositories', { name: 'both', type: 'group', members: ['go-proxy', 'go-proxy-2'], anonymousRead: true }))
        .status,
    ).toBe(201);
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await t?.close();
    await stub?.close();
    await second?.close();
  });

  test('the first client gets the bytes as they arrive (no ETag yet); the zip is then stored and served from storage', async () => {
    const m = fresh();
    const first = await t.request(m.url);
    expect(first.status).toBe(200);
    expect(first.headers.get('etag')).toBeNull();
    expect(first.headers.get('content-length')).toBe(String(m.zip.byteLength));
    expect(await drain(first)).toEqual({ bytes: Buffer.from(m.zip), complete: true });
    expect((await row(m.module))?.zipSize).toBe(m.zip.byteLength);
    const again = await t.request(m.url);
    expect(again.headers.get('etag')).toStartWith('"sha256-');
    expect(new Uint8Array(await again.arrayBuffer())).toEqual(m.zip);
    expect(stub.count(m.p.zip)).toBe(1);
  });

  test('a tampered zip streamed to its first client is aborted before its end, is not stored, and the repaired one is served next', async () => {
    const m = fresh();
    const bad = buildModuleZip(m.module, 'v1.0.0', { 'go.mod': `module ${m.module}\n\ngo 1.21\n`, 'data.bin': bigFile() });
    stub.setFile(m.p.zip, bad, 'application/zip');
    const before = errors.length;
    await expectAborted(m, bad.byteLength);
    expect(errors.slice(before).filter((e) => e.fields?.security === true)).toHaveLength(1);
    stub.setFile(m.p.zip, m.zip, 'application/zip');
    expect(await drain(await t.request(m.url))).toEqual({ bytes: Buffer.from(m.zip), complete: true });
    expect((await row(m.module))?.zipSize).toBe(m.zip.byteLength);
    expect(stub.count(m.p.zip)).toBe(2);
  });

  test.each([
    ['shorter than its Content-Length', { kind: 'short', afterBytes: STREAM_ZIPS_FROM_BYTES + 4096 }],
    ['longer than its Content-Length', { kind: 'long', cutBytes: 4096 }],
    ['dropped mid-body', { kind: 'drop', afterBytes: STREAM_ZIPS_FROM_BYTES + 4096 }],
    ['corrupt near its end', { kind: 'corrupt' }],
  ] as const)('an upstream zip %s is aborted, is not stored, and the next request gets the good bytes', async (_, fault) => {
    const m = fresh();
    stub.fault(m.p.zip, fault, 1);
    await expectAborted(m, m.zip.byteLength);
    expect(await drain(await t.request(m.url))).toEqual({ bytes: Buffer.from(m.zip), complete: true });
    expect(stub.count(m.p.zip)).toBe(2);
  });

  test('a client asking while the fill streams to another waits for the stored zip; the upstream is asked once', async () => {
    const m = fresh();
    stub.fault(m.p.zip, { kind: 'slow', chunkBytes: 256 * 1024, delayMs: 30 });
    const first = await t.request(m.url);
    expect(first.headers.get('etag')).toBeNull();
    const second = t.request(m.url);
    const [a, b] = await Promise.all([drain(first), second.then(drain)]);
    expect(a).toEqual({ bytes: Buffer.from(m.zip), complete: true });
    expect(b).toEqual({ bytes: Buffer.from(m.zip), complete: true });
    expect((await second).headers.get('etag')).toStartWith('"sha256-');
    expect(stub.count(m.p.zip)).toBe(1);
  });

  test('a client waiting on a streamed fill that fails gets a clean 502', async () => {
    const m = fresh();
    stub.fault(m.p.zip, { kind: 'slow', chunkBytes: 256 * 1024, delayMs: 30 }, 1);
    stub.setFile(m.p.zip, buildModuleZip('example.com/other', 'v1.0.0', { 'data.bin': bigFile() }), 'application/zip');
    const first = await t.request(m.url);
    const second = await t.request(m.url).then(async (r) => ({ status: r.status, text: await r.text() }));
    expect((await drain(first)).complete).toBe(false);
    expect(second.status).toBe(502);
    expect(second.text).toContain('invalid module zip');
    expect(stub.count(m.p.zip)).toBe(1);
  });

  // Only a group's last member streams: an earlier member's fill is waited for, so a bad zip there is skipped, not sent.
  test('a group falls through a proxy member whose fill fails to the next member, which streams the good zip', async () => {
    const m = fresh();
    second.addModule(m.module, 'v1.0.0', { files: { 'go.mod': `module ${m.module}\n\ngo 1.21\n`, 'data.bin': bigFile() } });
    const good = await (await fetch(`${second.url}/${m.p.zip}`)).bytes();
    stub.fault(m.p.zip, { kind: 'corrupt' });
    const res = await t.request(`/go/both/${m.module}/@v/v1.0.0.zip`);
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBeNull();
    expect(await drain(res)).toEqual({ bytes: Buffer.from(good), complete: true });
    expect([stub.count(m.p.zip), second.count(m.p.zip)]).toEqual([1, 2]);
    expect((await row(m.module))?.zipSize).toBe(good.byteLength);
  });

  test('a HEAD or ranged request on a cold zip waits for the stored file and answers as for a stored one', async () => {
    const m = fresh();
    const head = await t.request(m.url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('etag')).toStartWith('"sha256-');
    expect(head.headers.get('content-length')).toBe(String(m.zip.byteLength));
    const m2 = fresh();
    const ranged = await t.request(m2.url, { headers: { range: 'bytes=0-9' } });
    expect(ranged.status).toBe(206);
    expect(new Uint8Array(await ranged.arrayBuffer())).toEqual(m2.zip.subarray(0, 10));
  });
});

// Over a real socket: the client of a failed streamed fill sees a broken transfer, not a clean end.
describe('a failed streamed fill over HTTP', () => {
  let server: TestServer;
  let stub: StubUpstream;
  beforeAll(async () => {
    stub = await startStubUpstream();
    server = await startTestServer({ env: { ORBITREPO_GOSUMDB: 'off' } });
    const created = await fetch(`${server.url}/api/v1/repositories`, {
      method: 'POST',
      headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'go-proxy', type: 'proxy', remoteUrl: stub.url }),
    });
    expect(created.status).toBe(201);
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await server?.stop();
    await stub?.close();
  });

  test('breaks the connection before the zip ends, and the next request gets the whole zip', async () => {
    const module = 'example.com/streamed/socket';
    const zip = new Uint8Array(stub.addModule(module, 'v1.0.0', { files: { 'data.bin': bigFile() } }));
    const path = stub.paths(module, 'v1.0.0').zip;
    stub.fault(path, { kind: 'corrupt' }, 1);
    const res = await fetch(`${server.url}/go/go-proxy/${path}`);
    expect(res.status).toBe(200);
    const got = await drain(res);
    expect(got.complete).toBe(false);
    expect(got.bytes.byteLength).toBeLessThanOrEqual(zip.byteLength - HELD_TAIL_BYTES);
    const again = await fetch(`${server.url}/go/go-proxy/${path}`);
    expect(await drain(again)).toEqual({ bytes: Buffer.from(zip), complete: true });
  });
});
