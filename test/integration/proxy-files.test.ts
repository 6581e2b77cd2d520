import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { and, eq } from 'drizzle-orm';
import { moduleVersions } from '../../src/db/schema';
import { ADMIN_AUTH, startTestApp, type TestApp } from '../support/app';
import { testDatabaseKinds } from '../support/db';
import { HANG_LIMIT_MS } from '../support/limits';
import { type StubUpstream, startStubUpstream } from '../support/stub-upstream';
import { buildModuleZip } from '../support/zipbuild';

const SECRET = 'upstream-pw-do-not-leak';

describe.each(testDatabaseKinds())('proxy repository files on %s', (dbKind) => {
  let t: TestApp;
  let stub: StubUpstream;
  let n = 0;
  /** Each test gets its own module so that caches never leak between tests. */
  const fresh = (version = 'v1.0.0') => {
    const module = `example.com/files/m${++n}`;
    const zip = new Uint8Array(stub.addModule(module, version));
    return { module, version, zip, p: stub.paths(module, version), url: (ext: string) => `/go/go-proxy/${module}/@v/${version}.${ext}` };
  };

  beforeAll(async () => {
    stub = await startStubUpstream({ basePath: '/mirror', auth: { username: 'proxyuser', password: SECRET } });
    t = await startTestApp({ db: dbKind });
    const res = await t.api('POST', '/repositories', {
      name: 'go-proxy',
      type: 'proxy',
      remoteUrl: stub.url,
      settings: {
        upstreamUsername: 'proxyuser',
        upstreamPassword: SECRET,
        connectTimeoutMs: 200,
        responseTimeoutMs: 500,
        negativeTtlSeconds: 60,
      },
    });
    expect(res.status).toBe(201);
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await t?.close();
    await stub?.close();
  });
  beforeEach(() => stub.clearFault());
  /** Requests and reads the whole body, so no stored file is left open. */
  const get = async (path: string) => {
    const res = await t.request(path);
    return { status: res.status, bytes: new Uint8Array(await res.arrayBuffer()) };
  };

  test('.info, .mod and .zip are fetched once and then served from storage', async () => {
    const m = fresh();
    for (let i = 0; i < 3; i++) {
      const zip = await t.request(m.url('zip'));
      expect(zip.status).toBe(200);
      expect(new Uint8Array(await zip.arrayBuffer())).toEqual(m.zip);
      expect(zip.headers.get('etag')).toStartWith('"sha256-');
      expect((await get(m.url('mod'))).status).toBe(200);
      expect(JSON.parse(await (await t.request(m.url('info'))).text())).toEqual({ Version: 'v1.0.0', Time: '2024-01-02T03:04:05Z' });
    }
    expect([stub.count(m.p.zip), stub.count(m.p.mod), stub.count(m.p.info)]).toEqual([1, 1, 1]);
  });

  test('a cached version is still served when the upstream answers nothing but errors', async () => {
    const m = fresh();
    await get(m.url('mod'));
    await get(m.url('zip'));
    stub.fault(m.p.zip, { kind: 'status', status: 500 });
    stub.fault(m.p.mod, { kind: 'status', status: 500 });
    expect((await get(m.url('zip'))).status).toBe(200);
    expect((await get(m.url('mod'))).status).toBe(200);
  });

  test('the version row records hashes and gains a blob key as each file arrives', async () => {
    const m = fresh();
    await Promise.all([get(m.url('zip')), get(m.url('mod')), get(m.url('info'))]);
    // Each file is answered once checked, and stored right after.
    await t.ctx.coalescer.settled();
    const [row] = await t.ctx.db
      .select()
      .from(moduleVersions)
      .where(and(eq(moduleVersions.modulePath, m.module), eq(moduleVersions.version, m.version)));
    // Three concurrent fills of one row: each set only its own columns, none undid another.
    expect(row).toMatchObject({ origin: 'cached', zipSize: m.zip.byteLength, time: new Date('2024-01-02T03:04:05Z') });
    expect(row.zipKey && row.modKey && row.infoKey).toBeTruthy();
    expect(row.h1).toStartWith('h1:');
    expect(row.goModH1).toStartWith('h1:');
  });

  test('module paths with upper-case letters are !-escaped towards the upstream', async () => {
    const module = 'example.com/Files/Upper';
    stub.addModule(module, 'v1.0.0');
    expect((await get('/go/go-proxy/example.com/!files/!upper/@v/v1.0.0.mod')).status).toBe(200);
    expect(stub.count('example.com/!files/!upper/@v/v1.0.0.mod')).toBe(1);
  });

  test.each([404, 410])('an upstream %i is passed on as %i that names the upstream, and is remembered', async (status) => {
    const m = fresh();
    stub.fault(m.p.zip, { kind: 'status', status, body: 'no such module here' });
    for (let i = 0; i < 3; i++) {
      const res = await t.request(m.url('zip'));
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toStartWith('text/plain');
      expect(await res.text()).toBe(`upstream ${stub.url}/${m.p.zip} answered ${status}: no such module here\n`);
    }
    // The go command probes every path prefix; the negative cache keeps those probes off the upstream.
    expect(stub.count(m.p.zip)).toBe(1);
  });

  test('an upstream 500 is a 502 that says what the upstream did, without the upstream credentials', async () => {
    const m = fresh();
    stub.fault(m.p.zip, { kind: 'status', status: 500 });
    const res = await t.request(m.url('zip'));
    expect(res.status).toBe(502);
    const body = await res.text();
    expect(body).toStartWith(`upstream ${stub.url}/${m.p.zip} answered 500`);
    expect(body.trimEnd()).not.toContain('\n');
    expect(body).not.toContain(SECRET);
    expect(body).not.toContain(Buffer.from(`proxyuser:${SECRET}`).toString('base64'));
    // Not remembered: the next request asks again (after the client's own retries).
    stub.clearFault();
    expect((await get(m.url('zip'))).status).toBe(200);
  });

  test('an upstream that hangs is a 504', async () => {
    const m = fresh();
    stub.fault(m.p.info, { kind: 'hang' });
    const res = await t.request(m.url('info'));
    expect(res.status).toBe(504);
    expect(await res.text()).toContain(`upstream ${stub.url}/${m.p.info} did not answer within 700 ms`);
  });

  test.each([
    ['dropped mid-body', { kind: 'drop', afterBytes: 50 }],
    ['shorter than its Content-Length', { kind: 'short', afterBytes: 50 }],
    ['longer than its Content-Length', { kind: 'long', cutBytes: 50 }],
    ['corrupt', { kind: 'corrupt' }],
  ] as const)('a zip %s is a 502, is not stored, and the next request fetches it whole', async (_, fault) => {
    const m = fresh();
    stub.fault(m.p.zip, fault, 1);
    const bad = await t.request(m.url('zip'));
    expect(bad.status).toBe(502);
    expect(await bad.text()).toStartWith(`upstream ${stub.url}/${m.p.zip}`);
    const [row] = await t.ctx.db.select().from(moduleVersions).where(eq(moduleVersions.modulePath, m.module));
    expect(row?.zipKey ?? null).toBeNull();
    expect(await get(m.url('zip'))).toEqual({ status: 200, bytes: m.zip });
    expect(stub.count(m.p.zip)).toBe(2);
  });

  test('no staged file is left behind by a refused zip', async () => {
    const m = fresh();
    stub.fault(m.p.zip, { kind: 'corrupt' });
    // Earlier tests' fills may still be storing what they answered.
    await t.ctx.coalescer.settled();
    await get(m.url('zip'));
    const left: string[] = [];
    for await (const key of t.storage.list('tmp/')) left.push(key);
    expect(left).toEqual([]);
  });

  test('a zip for another module is refused with a message naming both', async () => {
    const m = fresh();
    stub.setFile(m.p.zip, buildModuleZip('example.com/other', 'v1.0.0', { 'go.mod': 'module example.com/other\n' }), 'application/zip');
    const res = await t.request(m.url('zip'));
    expect(res.status).toBe(502);
    expect(await res.text()).toContain('invalid module zip');
  });

  test.each([
    [
      '.info whose Version is another version',
      'info',
      '{"Version":"v1.0.1","Time":"2024-01-01T00:00:00Z"}',
      'answered version "v1.0.1", not v1.0.0',
    ],
    ['.info that is not JSON', 'info', '<html>', 'not JSON'],
  ] as const)('an %s is a 502 and is not stored', async (_, ext, body, message) => {
    const m = fresh();
    stub.setFile(ext === 'info' ? m.p.info : m.p.mod, body);
    const res = await t.request(m.url(ext));
    expect(res.status).toBe(502);
    expect(await res.text()).toContain(message);
    expect(await t.ctx.db.select().from(moduleVersions).where(eq(moduleVersions.modulePath, m.module))).toEqual([]);
  });

  // A fork's go.mod names the module it forks: the go command takes it through replace, and checks the line itself
  // where it must. The proxy used to refuse it with a 502.
  test('a .mod whose module directive names another module is stored and served as the upstream sent it', async () => {
    const module = `example.com/files/fork${++n}`;
    const forked = 'module example.com/elsewhere\n\ngo 1.21\n';
    stub.addModule(module, 'v1.0.0', { files: { 'go.mod': forked, 'x.go': 'package x\n' } });
    const url = `/go/go-proxy/${module}/@v/v1.0.0.mod`;
    expect(await (await t.request(url)).text()).toBe(forked);
    await t.ctx.coalescer.settled();
    const [row] = await t.ctx.db.select().from(moduleVersions).where(eq(moduleVersions.modulePath, module));
    expect(row?.modKey).toBeString();
    expect(await (await t.request(url)).text()).toBe(forked);
    expect(stub.count(stub.paths(module, 'v1.0.0').mod)).toBe(1);
  });

  // The go command asks .mod right after .info: fetching it meanwhile saves a round trip per new version.
  test("a version's .info fill fetches its .mod meanwhile, and the .mod request that follows is answered from it", async () => {
    const m = fresh();
    expect((await t.request(m.url('info'))).status).toBe(200);
    // Nobody asked for the .mod yet: only the .info's fill can have fetched it (waited for, at most 2 s).
    for (let i = 0; i < 100 && stub.count(m.p.mod) === 0; i++) await Bun.sleep(20);
    expect(stub.count(m.p.mod)).toBe(1);
    expect((await t.request(m.url('mod'))).status).toBe(200);
    expect([stub.count(m.p.info), stub.count(m.p.mod), stub.count(m.p.zip)]).toEqual([1, 1, 0]);
  });

  test('a .info query (not a canonical version) is resolved by the upstream and not stored as a version', async () => {
    const m = fresh();
    stub.setFile(`${stub.paths(m.module).list.replace('/list', '')}/master.info`, '{"Version":"v1.0.0","Time":"2024-01-02T03:04:05Z"}');
    const res = await t.request(`/go/go-proxy/${m.module}/@v/master.info`);
    expect(res.status).toBe(200);
    expect(JSON.parse(await res.text()).Version).toBe('v1.0.0');
    expect(await t.ctx.db.select().from(moduleVersions).where(eq(moduleVersions.modulePath, m.module))).toEqual([]);
  });

  test('uploading to a proxy is refused with 405 and a reason', async () => {
    const res = await t.request('/go/go-proxy/example.com/x/@v/v1.0.0.mod', {
      method: 'PUT',
      body: 'module example.com/x\n',
      auth: ADMIN_AUTH,
    });
    expect(res.status).toBe(405);
    expect(await res.text()).toContain('takes no uploads');
  });

  test('deleting a cached version evicts it: the next request fetches it again', async () => {
    const m = fresh();
    await get(m.url('zip'));
    await t.ctx.registry.open('go-proxy').then((r) => r.remover!.deleteVersion(m.module, m.version, { username: 'admin' }));
    expect(await t.ctx.db.select().from(moduleVersions).where(eq(moduleVersions.modulePath, m.module))).toEqual([]);
    expect((await get(m.url('zip'))).status).toBe(200);
    expect(stub.count(m.p.zip)).toBe(2);
  });

  test('evicting a version that is not cached is a 404', async () => {
    const repo = await t.ctx.registry.open('go-proxy');
    expect(repo.remover!.deleteVersion('example.com/never', 'v1.0.0', { username: 'admin' })).rejects.toThrow('is not cached');
  });
});
