import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { and, eq, isNotNull } from 'drizzle-orm';
import { moduleVersions } from '../../src/db/schema';
import { startTestApp, type TestApp } from '../support/app';
import { testDatabaseKinds } from '../support/db';
import { HANG_LIMIT_MS } from '../support/limits';
import { type StubUpstream, startStubUpstream } from '../support/stub-upstream';

describe.each(testDatabaseKinds())('proxy coalescing in one process on %s', (dbKind) => {
  let t: TestApp;
  let stub: StubUpstream;
  let n = 0;
  const fresh = () => {
    const module = `example.com/coalesce/m${++n}`;
    // Incompressible, so the zip is as big as its content and a slow upstream takes a while to send it.
    const files = { 'big.bin': crypto.getRandomValues(new Uint8Array(64 * 1024)) };
    const zip = new Uint8Array(stub.addModule(module, 'v1.0.0', { files }));
    return { module, zip, p: stub.paths(module, 'v1.0.0'), url: (ext: string) => `/go/go-proxy/${module}/@v/v1.0.0.${ext}` };
  };
  const zipStored = async (module: string) =>
    // A checked zip is answered before its row is written: the fill is let finish first.
    (await t.ctx.coalescer.settled()) ??
    (
      await t.ctx.db
        .select()
        .from(moduleVersions)
        .where(and(eq(moduleVersions.modulePath, module), isNotNull(moduleVersions.zipKey)))
    ).length > 0;

  beforeAll(async () => {
    stub = await startStubUpstream();
    t = await startTestApp({ db: dbKind });
    expect((await t.api('POST', '/repositories', { name: 'go-proxy', type: 'proxy', remoteUrl: stub.url })).status).toBe(201);
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await t?.close();
    await stub?.close();
  });

  test('thirty concurrent requests for a missing zip make exactly one upstream request', async () => {
    const m = fresh();
    stub.fault(m.p.zip, { kind: 'slow', chunkBytes: 4096, delayMs: 10 });
    const bodies = await Promise.all(
      Array.from({ length: 30 }, async () => {
        const res = await t.request(m.url('zip'));
        expect(res.status).toBe(200);
        return new Uint8Array(await res.arrayBuffer());
      }),
    );
    for (const b of bodies) expect(b).toEqual(m.zip);
    expect(stub.count(m.p.zip)).toBe(1);
  });

  test('concurrent .info, .mod and .zip of one version are each fetched once', async () => {
    const m = fresh();
    const urls = ['info', 'mod', 'zip'].flatMap((ext) => Array(5).fill(m.url(ext)) as string[]);
    const statuses = await Promise.all(urls.map(async (u) => (await t.request(u)).arrayBuffer().then(() => 200)));
    expect(statuses).toEqual(Array(15).fill(200));
    expect([stub.count(m.p.info), stub.count(m.p.mod), stub.count(m.p.zip)]).toEqual([1, 1, 1]);
  });

  test('a failed shared fetch fails every waiter, and the next request tries again', async () => {
    const m = fresh();
    // A refusal (403) is not retried, so the one shared fetch fails, and every waiter gets its 403.
    stub.fault(m.p.mod, { kind: 'status', status: 403 }, 1);
    const statuses = await Promise.all(Array.from({ length: 5 }, async () => (await t.request(m.url('mod'))).status));
    expect(statuses).toEqual(Array(5).fill(403));
    const again = await t.request(m.url('mod'));
    await again.arrayBuffer();
    expect(again.status).toBe(200);
    expect(stub.count(m.p.mod)).toBe(2);
  });

  // A real port, because only a real connection can be dropped by its client.
  test('a client that disconnects does not cancel the shared fetch: the zip is stored and waiters are answered', async () => {
    const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: (req) => t.app.handle(req) });
    try {
      const m = fresh();
      stub.fault(m.p.zip, { kind: 'slow', chunkBytes: 4096, delayMs: 20 });
      const base = `http://127.0.0.1:${server.port}`;
      const leaver = new AbortController();
      const first = fetch(base + m.url('zip'), { signal: leaver.signal }).catch((e) => e);
      while (stub.count(m.p.zip) === 0) await Bun.sleep(5);
      const second = fetch(base + m.url('zip')).then(async (r) => ({ status: r.status, bytes: new Uint8Array(await r.arrayBuffer()) }));
      leaver.abort();
      expect(await first).toBeInstanceOf(Error);
      expect(await second).toEqual({ status: 200, bytes: m.zip });
      expect(await zipStored(m.module)).toBe(true);
      expect(stub.count(m.p.zip)).toBe(1);
    } finally {
      server.stop(true);
    }
  });

  test('a fetch whose only client left still completes and is stored', async () => {
    const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: (req) => t.app.handle(req) });
    try {
      const m = fresh();
      stub.fault(m.p.zip, { kind: 'slow', chunkBytes: 4096, delayMs: 10 });
      const leaver = new AbortController();
      const first = fetch(`http://127.0.0.1:${server.port}${m.url('zip')}`, { signal: leaver.signal }).catch((e) => e);
      while (stub.count(m.p.zip) === 0) await Bun.sleep(5);
      leaver.abort();
      await first;
      for (let i = 0; i < 200 && !(await zipStored(m.module)); i++) await Bun.sleep(25);
      expect(await zipStored(m.module)).toBe(true);
      const again = await t.request(m.url('zip'));
      expect(new Uint8Array(await again.arrayBuffer())).toEqual(m.zip);
      expect(stub.count(m.p.zip)).toBe(1);
    } finally {
      server.stop(true);
    }
  });
});
