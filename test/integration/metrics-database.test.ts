import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import type { QueryOperation } from '../../src/db/query-timing';
import { ADMIN_AUTH, startTestApp, type TestApp } from '../support/app';
import { testDatabaseKinds } from '../support/db';
import { sample } from '../support/metrics';
import { buildModuleZip } from '../support/zipbuild';

// Each driver is timed by its own wrapper (postgres-js's lazy queries, PGlite's query/exec): both are scraped.
describe.each(testDatabaseKinds())('database timings on /metrics on %s', (dbKind) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ db: dbKind });
    expect((await t.api('POST', '/repositories', { name: 'go-hosted', type: 'hosted' })).status).toBe(201);
  }, 180_000);
  afterAll(async () => {
    await t?.close();
  });

  const scrape = async () => {
    const res = await t.request('/metrics');
    expect(res.status).toBe(200);
    return res.text();
  };

  test('statements sent by real traffic are on the histogram by operation, as many as the driver ran', async () => {
    // Counted beside the plugin, on the same hook: background work (download counts, invalidations) may run too,
    // so the histogram must move by exactly what was sent in the window, whoever sent it.
    const sent = new Map<string, number>();
    const stop = t.db.handle.observeQueries((op, _s, ok) => {
      const key = `${op}/${ok ? 'ok' : 'error'}`;
      sent.set(key, (sent.get(key) ?? 0) + 1);
    });
    const before = await scrape();
    const zip = buildModuleZip('example.com/timed', 'v1.0.0', { 'go.mod': 'module example.com/timed\n', 'a.go': 'package a\n' });
    const up = await t.request('/go/go-hosted/example.com/timed/@v/v1.0.0.zip', { method: 'PUT', auth: ADMIN_AUTH, body: zip });
    expect(up.status).toBe(201);
    await up.arrayBuffer();
    expect((await t.request('/go/go-hosted/example.com/timed/@v/v1.0.0.info', { auth: ADMIN_AUTH })).status).toBe(200);
    expect((await t.request('/go/go-hosted/example.com/timed/@v/v9.0.0.info', { auth: ADMIN_AUTH })).status).toBe(404);
    const after = await scrape();
    stop();

    const delta = (operation: QueryOperation, result: 'ok' | 'error') =>
      sample(after, 'orbitrepos_db_query_duration_seconds_count', { operation, result }) -
      sample(before, 'orbitrepos_db_query_duration_seconds_count', { operation, result });
    // A publish writes its version row and its audit entry at least; reads and the auth check select.
    expect(sent.get('insert/ok') ?? 0).toBeGreaterThanOrEqual(2);
    expect(sent.get('select/ok') ?? 0).toBeGreaterThanOrEqual(1);
    for (const operation of ['select', 'insert', 'update', 'delete', 'other'] as const) {
      for (const result of ['ok', 'error'] as const) expect(delta(operation, result)).toBe(sent.get(`${operation}/${result}`) ?? 0);
    }
    expect(
      sample(after, 'orbitrepos_db_query_duration_seconds_sum', { operation: 'insert', result: 'ok' }) -
        sample(before, 'orbitrepos_db_query_duration_seconds_sum', { operation: 'insert', result: 'ok' }),
    ).toBeGreaterThan(0);
  });

  test('a failing statement counts as an error of its operation, once per statement', async () => {
    const before = await scrape();
    for (let i = 0; i < 2; i++) await expect(Promise.resolve(t.ctx.db.execute(sql`select * from no_such_table_here`))).rejects.toThrow();
    await expect(Promise.resolve(t.ctx.db.execute(sql`delete from no_such_table_here`))).rejects.toThrow();
    const after = await scrape();
    const errors = (operation: string) =>
      sample(after, 'orbitrepos_db_query_duration_seconds_count', { operation, result: 'error' }) -
      sample(before, 'orbitrepos_db_query_duration_seconds_count', { operation, result: 'error' });
    expect(errors('select')).toBe(2);
    expect(errors('delete')).toBe(1);
    expect(errors('insert')).toBe(0);
  });

  test('the pool reports its connection limit and, while a statement waits, one statement in flight', async () => {
    const idle = await scrape();
    expect(sample(idle, 'orbitrepos_db_pool_max_connections')).toBe(dbKind === 'pglite' ? 1 : 5);
    expect(idle).toContain('# TYPE orbitrepos_db_queries_in_flight gauge');
    // PGlite is one in-process session: a statement cannot be held waiting while another runs.
    if (dbKind === 'pglite') return;
    // Another session holds an advisory lock; the plugin's statement asking for it waits until it is let go.
    const other = postgres(t.db.url!, { max: 1, onnotice: () => {} });
    try {
      await other`select pg_advisory_lock(424242)`;
      const waiting = Promise.resolve(t.ctx.db.execute(sql`select pg_advisory_xact_lock(424242)`));
      while (t.db.handle.poolStats().inFlight === 0) await Bun.sleep(10);
      const during = await scrape();
      await other`select pg_advisory_unlock(424242)`;
      await waiting;
      expect(sample(during, 'orbitrepos_db_queries_in_flight')).toBeGreaterThanOrEqual(1);
    } finally {
      await other.end();
    }
  });
});
