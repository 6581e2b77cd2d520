import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { eq } from 'drizzle-orm';
import { proxyCacheEntries } from '../../src/db/schema';
import type { ExpiringReader } from '../../src/repos/expiring';
import { startTestApp, type TestApp } from '../support/app';
import { testDatabaseKinds } from '../support/db';
import { expireProxyAnswers } from '../support/expire';
import { HANG_LIMIT_MS } from '../support/limits';
import { type StubUpstream, startStubUpstream } from '../support/stub-upstream';

/** Makes every cached list/@latest answer of the repository expire now, as if the TTL had passed (in memory too). */
async function expireAll(t: TestApp): Promise<void> {
  await expireProxyAnswers(t.ctx);
}

describe.each(testDatabaseKinds())('proxy repository list, @latest and sumdb on %s', (dbKind) => {
  let t: TestApp;
  let stub: StubUpstream;
  let n = 0;
  const fresh = () => {
    const module = `example.com/meta/m${++n}`;
    stub.addModule(module, 'v1.0.0');
    stub.addModule(module, 'v1.1.0', { time: '2024-02-01T00:00:00Z' });
    return { module, p: stub.paths(module), list: `/go/go-proxy/${module}/@v/list`, latest: `/go/go-proxy/${module}/@latest` };
  };
  const text = async (path: string) => {
    const res = await t.request(path);
    return { status: res.status, body: await res.text(), cacheControl: res.headers.get('cache-control') };
  };

  beforeAll(async () => {
    stub = await startStubUpstream();
    t = await startTestApp({ db: dbKind });
    const res = await t.api('POST', '/repositories', {
      name: 'go-proxy',
      type: 'proxy',
      remoteUrl: stub.url,
      // Timeouts long enough that a busy machine still refreshes in time, short enough for the hang cases to stay quick.
      settings: { metadataTtlSeconds: 300, negativeTtlSeconds: 60, connectTimeoutMs: 2000, responseTimeoutMs: 2000 },
    });
    expect(res.status).toBe(201);
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await t?.close();
    await stub?.close();
  });
  beforeEach(() => stub.clearFault());

  test('list and @latest are cached for the metadata TTL', async () => {
    const m = fresh();
    for (let i = 0; i < 3; i++) {
      expect(await text(m.list)).toMatchObject({ status: 200, body: 'v1.0.0\nv1.1.0\n' });
      expect(JSON.parse((await text(m.latest)).body)).toEqual({ Version: 'v1.1.0', Time: '2024-02-01T00:00:00Z' });
    }
    expect([stub.count(m.p.list), stub.count(m.p.latest)]).toEqual([1, 1]);
  });

  test("a copy in memory ends when its row does: its deadline is the row's expiry, for lists, @latest and remembered 404s", async () => {
    expect(
      (
        await t.api('POST', '/repositories', {
          name: 'go-proxy-short',
          type: 'proxy',
          remoteUrl: stub.url,
          settings: { metadataTtlSeconds: 1, negativeTtlSeconds: 1, connectTimeoutMs: 2000, responseTimeoutMs: 2000 },
        })
      ).status,
    ).toBe(201);
    const m = fresh();
    const short = (path: string) => path.replace('/go/go-proxy/', '/go/go-proxy-short/');
    const missing = `/go/go-proxy-short/${m.module}/@v/v9.0.0.info`;
    expect((await text(short(m.list))).body).toBe('v1.0.0\nv1.1.0\n');
    expect(JSON.parse((await text(short(m.latest))).body).Version).toBe('v1.1.0');
    expect((await text(missing)).status).toBe(404);
    // The deadline the reader gives (and the memory keeps) is never later than the row's expiry.
    const repo = await t.ctx.registry.open('go-proxy-short');
    const reader = repo.reader as unknown as ExpiringReader;
    const listed = await reader.listExpiring(m.module);
    const [row] = await t.ctx.db
      .select({ expiresAt: proxyCacheEntries.expiresAt })
      .from(proxyCacheEntries)
      .where(eq(proxyCacheEntries.key, `list:${m.module}`));
    expect(listed.until).toBeLessThanOrEqual(row.expiresAt.getTime());
    expect(listed.until).toBeGreaterThan(row.expiresAt.getTime() - 1000);
    // With nothing but time passing, all three are asked again once their rows have expired.
    stub.addModule(m.module, 'v1.2.0');
    stub.addModule(m.module, 'v9.0.0');
    await Bun.sleep(Math.max(listed.until, row.expiresAt.getTime()) - Date.now() + 1100);
    expect((await text(short(m.list))).body).toBe('v1.0.0\nv1.1.0\nv1.2.0\nv9.0.0\n');
    expect(JSON.parse((await text(short(m.latest))).body).Version).toBe('v9.0.0');
    expect((await text(missing)).status).toBe(200);
  });

  test('an expired list is fetched again and shows new versions', async () => {
    const m = fresh();
    await text(m.list);
    stub.addModule(m.module, 'v1.2.0');
    expect((await text(m.list)).body).toBe('v1.0.0\nv1.1.0\n');
    await expireAll(t);
    expect((await text(m.list)).body).toBe('v1.0.0\nv1.1.0\nv1.2.0\n');
    expect(stub.count(m.p.list)).toBe(2);
  });

  test.each([
    ['answers 500', { kind: 'status', status: 500 }],
    ['hangs', { kind: 'hang' }],
  ] as const)('when the upstream %s, the last good list and @latest are served', async (_, fault) => {
    const m = fresh();
    await text(m.list);
    await text(m.latest);
    await expireAll(t);
    stub.fault(m.p.list, fault);
    stub.fault(m.p.latest, fault);
    expect(await text(m.list)).toMatchObject({ status: 200, body: 'v1.0.0\nv1.1.0\n' });
    expect(JSON.parse((await text(m.latest)).body).Version).toBe('v1.1.0');
  });

  test('with no good answer ever seen, an upstream failure is a 502', async () => {
    const m = fresh();
    stub.fault(m.p.list, { kind: 'status', status: 503 });
    const res = await text(m.list);
    expect(res.status).toBe(502);
    expect(res.body).toStartWith(`upstream ${stub.url}/${m.p.list} answered 503`);
  });

  test('with the upstream down and no list ever fetched, the versions cached here are listed', async () => {
    const m = fresh();
    (await t.request(`/go/go-proxy/${m.module}/@v/v1.0.0.mod`)).body?.cancel();
    await t.request(`/go/go-proxy/${m.module}/@v/v1.0.0.info`).then((r) => r.text());
    stub.fault(m.p.list, { kind: 'status', status: 500 });
    stub.fault(m.p.latest, { kind: 'status', status: 500 });
    expect(await text(m.list)).toMatchObject({ status: 200, body: 'v1.0.0\n' });
    expect(JSON.parse((await text(m.latest)).body)).toEqual({ Version: 'v1.0.0', Time: '2024-01-02T03:04:05Z' });
  });

  test.each([404, 410])('an upstream %i for list is passed on as %i and remembered for the negative TTL', async (status) => {
    const module = `example.com/meta/absent${status}`;
    const p = stub.paths(module);
    stub.fault(p.list, { kind: 'status', status });
    for (let i = 0; i < 3; i++) {
      const res = await text(`/go/go-proxy/${module}/@v/list`);
      expect(res.status).toBe(status);
      expect(res.body).toStartWith(`upstream ${stub.url}/${p.list} answered ${status}`);
    }
    expect(stub.count(p.list)).toBe(1);
  });

  test('a remembered 404 is forgotten after the negative TTL', async () => {
    const module = 'example.com/meta/later';
    await text(`/go/go-proxy/${module}/@latest`);
    stub.addModule(module, 'v0.1.0');
    expect((await text(`/go/go-proxy/${module}/@latest`)).status).toBe(404);
    await expireAll(t);
    expect((await text(`/go/go-proxy/${module}/@latest`)).status).toBe(200);
  });

  test('a malformed @latest answer is a 502 and is not cached', async () => {
    const m = fresh();
    stub.setFile(m.p.latest, '{"Version": "latest"}');
    expect((await text(m.latest)).status).toBe(502);
    stub.setFile(m.p.latest, '{"Version": "v1.1.0"}');
    expect((await text(m.latest)).status).toBe(200);
  });

  test.each([401, 403])('an upstream %i is a refusal: a 403 with its reason, never the stale list cached here', async (status) => {
    // A repository that waits for the refresh (no serve-stale-while-slow race on a loaded machine).
    const repo = `go-proxy-refusing${status}`;
    const made = await t.api('POST', '/repositories', {
      name: repo,
      type: 'proxy',
      remoteUrl: stub.url,
      settings: { connectTimeoutMs: 60_000 },
    });
    expect(made.status).toBe(201);
    const m = fresh();
    const list = `/go/${repo}/${m.module}/@v/list`;
    expect((await text(list)).status).toBe(200);
    await expireAll(t);
    stub.fault(m.p.list, { kind: 'status', status, body: 'module blocked by policy' });
    const res = await text(list);
    expect(res.status).toBe(403);
    expect(res.body).toStartWith(`upstream ${stub.url}/${m.p.list} answered ${status}: module blocked by policy`);
    stub.clearFault(m.p.list);
    // Not remembered: the next request asks again.
    expect(await text(list)).toMatchObject({ status: 200, body: 'v1.0.0\nv1.1.0\n' });
  });

  describe('an upstream without @latest', () => {
    const older = 'v0.0.0-20190410203021-a8df7a6c0ce8';
    const newer = 'v0.0.0-20240903120638-7835f813f4da';

    test.each([404, 410])(
      'answering @latest with %i, an untagged module resolves to its newest pseudo-version and lists its pseudo-versions',
      async (status) => {
        const module = `example.com/meta/untagged${status}`;
        stub.addModule(module, newer, { time: '2024-09-03T12:06:38Z' });
        stub.addModule(module, older, { time: '2019-04-10T20:30:21Z' });
        const p = stub.paths(module);
        stub.setFile(p.list, `${newer}\n${older}\n`, 'text/plain; charset=utf-8');
        stub.fault(p.latest, { kind: 'status', status });
        expect(await text(`/go/go-proxy/${module}/@v/list`)).toMatchObject({ status: 200, body: `${older}\n${newer}\n` });
        const latest = await text(`/go/go-proxy/${module}/@latest`);
        expect(latest.status).toBe(200);
        expect(JSON.parse(latest.body)).toEqual({ Version: newer, Time: '2024-09-03T12:06:38Z' });
        expect(stub.count(stub.paths(module, newer).info)).toBe(1);
      },
    );

    test('a tagged module resolves to its highest release, not a newer pseudo-version', async () => {
      const module = 'example.com/meta/tagged-no-latest';
      stub.addModule(module, 'v1.0.0');
      stub.addModule(module, 'v1.1.0-rc.1');
      stub.addModule(module, newer);
      const p = stub.paths(module);
      stub.setFile(p.list, `v1.1.0-rc.1\n${newer}\nv1.0.0\n`, 'text/plain; charset=utf-8');
      stub.fault(p.latest, { kind: 'status', status: 404 });
      expect(JSON.parse((await text(`/go/go-proxy/${module}/@latest`)).body).Version).toBe('v1.0.0');
    });

    test('with an empty list as well, @latest stays a 404', async () => {
      const module = 'example.com/meta/empty-no-latest';
      const p = stub.paths(module);
      stub.setFile(p.list, '', 'text/plain; charset=utf-8');
      stub.fault(p.latest, { kind: 'status', status: 404 });
      const res = await text(`/go/go-proxy/${module}/@latest`);
      expect(res.status).toBe(404);
      expect(res.body).toStartWith(`upstream ${stub.url}/${p.latest} answered 404`);
    });
  });

  test('concurrent list requests for one module make one upstream request', async () => {
    const m = fresh();
    stub.fault(m.p.list, { kind: 'slow', chunkBytes: 4, delayMs: 20 });
    const all = await Promise.all(Array.from({ length: 10 }, () => text(m.list)));
    expect(all.map((r) => r.body)).toEqual(Array(10).fill('v1.0.0\nv1.1.0\n'));
    expect(stub.count(m.p.list)).toBe(1);
  });

  describe('checksum database pass-through', () => {
    const db = 'sum.example.test';
    const lookup = 'lookup/example.com/!a@v1.0.0';
    const tile = 'tile/8/0/x001/234.p/5';
    beforeAll(() => {
      stub.setFile(`sumdb/${db}/supported`, '');
      stub.refuseSumdb('sum.unknown.test');
      stub.setFile(`sumdb/${db}/${lookup}`, '42\nexample.com/A v1.0.0 h1:abc=\n\n— note\n', 'text/plain; charset=utf-8');
      stub.setFile(`sumdb/${db}/${tile}`, new Uint8Array([1, 2, 3, 4, 5]));
      stub.setFile(`sumdb/${db}/latest`, 'go.sum database tree\n100\nhash=\n');
    });

    test('supported is a 200 with an empty body when the upstream proxies that database', async () => {
      expect(await text(`/go/go-proxy/sumdb/${db}/supported`)).toMatchObject({ status: 200, body: '' });
    });

    test('an unknown checksum database is a 404, so the go command asks it directly', async () => {
      expect((await text('/go/go-proxy/sumdb/sum.unknown.test/supported')).status).toBe(404);
    });

    test('lookups and tiles are forwarded with their escapes and cached as immutable', async () => {
      for (let i = 0; i < 2; i++) {
        expect(await text(`/go/go-proxy/sumdb/${db}/${lookup}`)).toMatchObject({
          status: 200,
          cacheControl: expect.stringContaining('immutable'),
        });
        const res = await t.request(`/go/go-proxy/sumdb/${db}/${tile}`);
        expect(new Uint8Array(await res.arrayBuffer())).toEqual(new Uint8Array([1, 2, 3, 4, 5]));
      }
      expect(stub.count(`sumdb/${db}/${lookup}`)).toBe(1);
      expect(stub.count(`sumdb/${db}/${tile}`)).toBe(1);
      // A hundred years: only an explicit eviction removes them.
      const [entry] = await t.ctx.db
        .select()
        .from(proxyCacheEntries)
        .where(eq(proxyCacheEntries.key, `sumdb:${db}/${tile}`));
      expect(entry.expiresAt.getTime()).toBeGreaterThan(Date.now() + 50 * 365 * 24 * 3600 * 1000);
    });

    test('latest is cached briefly and served stale when the upstream fails', async () => {
      expect((await text(`/go/go-proxy/sumdb/${db}/latest`)).body).toBe('go.sum database tree\n100\nhash=\n');
      await expireAll(t);
      stub.fault(`sumdb/${db}/latest`, { kind: 'status', status: 502 });
      expect(await text(`/go/go-proxy/sumdb/${db}/latest`)).toMatchObject({ status: 200, body: 'go.sum database tree\n100\nhash=\n' });
    });
  });
});
