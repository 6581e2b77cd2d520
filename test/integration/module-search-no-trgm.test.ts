import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import type { Principal } from '../../src/auth/principal';
import { type DatabaseHandle, openDatabase } from '../../src/db/open';
import { readableRepositories } from '../../src/http/repository-access';
import { silentLogger } from '../../src/log';
import { ModuleSearch, type SearchPlace, type SearchQuery, trigramIndex, warnWithoutTrigramIndex } from '../../src/repos/module-search';
import { startTestApp, type TestApp } from '../support/app';
import { testDatabaseKinds } from '../support/db';
import { HANG_LIMIT_MS } from '../support/limits';
import { versionRows } from '../support/version-rows';

// A PostgreSQL server without pg_trgm (or a role that may not create it) migrates without the trigram index,
// and substring searches scan instead: the answers must be the very ones the index gives. PGlite always loads
// the extension, so only PostgreSQL can be without it.
const QUERIES: SearchQuery[] = [
  { q: 'example.com/team/' },
  { q: 'svc' },
  { q: 'SVC-1' },
  { q: 'upper_case' },
  { q: 'upper%case' },
  { q: 'team_' },
  { q: '%' },
  { q: '_' },
  { q: 'k/m1' },
  { q: 'm1' },
  { q: 'nothing-here' },
  { q: 'bulk/m', offset: 50 },
  { q: 'bulk/m', limit: 10, offset: 20 },
];

const rowsOf = (res: unknown) => (Array.isArray(res) ? res : (res as { rows: unknown[] }).rows) as Record<string, unknown>[];

describe.if(testDatabaseKinds().includes('postgres'))('module search on PostgreSQL without the trigram index', () => {
  let t: TestApp;
  // One connection that avoids sequential scans, so the planner takes the trigram index while it exists even
  // over this few rows (it rightly scans a few thousand).
  let forced: DatabaseHandle;
  let search: ModuleSearch;
  let places: SearchPlace[];

  beforeAll(async () => {
    t = await startTestApp({ db: 'postgres' });
    for (const body of [
      { name: 'internal', type: 'hosted' },
      { name: 'secret', type: 'hosted' },
      { name: 'all', type: 'group', members: ['internal', 'secret'] },
    ]) {
      expect((await t.api('POST', '/repositories', body)).status).toBe(201);
    }
    const { add, insert } = versionRows(t);
    await add('internal', 'example.com/team/svc-10', ['v1.0.0']);
    await add('internal', 'example.com/team/svc-2', ['v1.0.0', 'v1.1.0']);
    await add('internal', 'example.com/Team/Upper_Case', ['v0.1.0']);
    await add('internal', 'golang.org/x/svcutil', ['v0.3.0']);
    await add('secret', 'example.com/team/svc-secret', ['v1.0.0']);
    await add('secret', 'example.com/team/svc-2', ['v2.0.0']);
    for (let i = 0; i < 120; i++) await add('internal', `example.com/bulk/m${i}`, ['v1.0.0']);
    // Rows enough for the trigram index to beat a walk of the repository index (none matches a query below).
    for (let i = 0; i < 5000; i++) await add('internal', `example.com/filler/x${i}`, ['v1.0.0']);
    await insert(1000);
    await t.ctx.db.execute(sql`vacuum analyze module_versions`);
    const viewer = await t.ctx.users.create({ username: 'viewer', password: 'viewer-password-1' }, { username: 'test' });
    for (const repo of ['internal', 'all'])
      expect((await t.api('PUT', `/repositories/${repo}/permissions/viewer`, { role: 'read' })).status).toBeLessThan(300);
    const principal: Principal = { kind: 'user', userId: viewer.id, username: 'viewer', isAdmin: false, via: 'session' };
    places = await t.ctx.search.places(await readableRepositories(t.ctx, principal));
    forced = await openDatabase({ url: t.db.url, maxConnections: 1 });
    await forced.db.execute(sql`set enable_seqscan = off`);
    search = new ModuleSearch(forced.db, async () => []);
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await forced?.close();
    await t?.close();
  });

  const answers = () => Promise.all(QUERIES.map((query) => search.search(places, query)));

  test('substring, prefix, case and literal % and _ searches answer the same with the index and without it', async () => {
    const plan = rowsOf(
      await forced.db.execute(sql`explain select repository_id, module_path, count(*) from module_versions
        where repository_id in (${sql.join(
          places.map((p) => sql`${p.row.id}`),
          sql`, `,
        )}) and lower(module_path) like '%svc-1%' and lower(module_path) not like 'svc-1%' group by 1, 2`),
    );
    expect(plan.map((r) => String(Object.values(r)[0])).join('\n')).toContain('module_versions_lower_path_trgm');
    const indexed = await answers();

    await t.ctx.db.execute(sql`drop index module_versions_lower_path_trgm`);
    const scanned = await answers();

    expect(scanned).toEqual(indexed);
    const modules = (i: number) => scanned[i].hits.map((h) => h.module);
    expect(modules(1)).toEqual(['example.com/team/svc-2', 'example.com/team/svc-10', 'golang.org/x/svcutil']);
    expect(modules(2)).toEqual(['example.com/team/svc-10']);
    expect(modules(3)).toEqual(['example.com/Team/Upper_Case']);
    for (const i of [4, 5, 6]) expect(modules(i)).toEqual([]);
    expect(modules(7)).toEqual(['example.com/Team/Upper_Case']);
    expect(scanned[8].total).toBe(31);
    expect(modules(11)).toHaveLength(50);
    expect(scanned[11].total).toBe(120);
    // The secret repository is in the group but not readable: its modules and versions are never counted.
    const svc2 = scanned[1].hits.find((h) => h.module === 'example.com/team/svc-2');
    expect(svc2?.places.map((p) => `${p.via ?? ''}→${p.repository} ${p.versions}`)).toEqual(['→internal 2', 'all→internal 2']);
    expect(JSON.stringify(scanned)).not.toContain('svc-secret');
  });

  test('a database without the trigram index is said at start once, naming the database; one with it says nothing', async () => {
    const warned: { message: string; database?: unknown }[] = [];
    const log = {
      ...silentLogger,
      warn: (message: string, fields?: Record<string, unknown>) => warned.push({ message, database: fields?.database }),
    };
    await t.ctx.db.execute(
      sql`create index if not exists module_versions_lower_path_trgm on module_versions using gin (lower(module_path) gin_trgm_ops)`,
    );
    const withIndex = await trigramIndex(t.ctx.db);
    expect(withIndex.present).toBe(true);
    await warnWithoutTrigramIndex(t.ctx.db, log);
    expect(warned).toEqual([]);

    await t.ctx.db.execute(sql`drop index module_versions_lower_path_trgm`);
    expect(await trigramIndex(t.ctx.db)).toEqual({ present: false, database: withIndex.database });
    await warnWithoutTrigramIndex(t.ctx.db, log);
    await warnWithoutTrigramIndex(t.ctx.db, log);
    expect(warned).toHaveLength(1);
    expect(warned[0].message).toContain('module search has no trigram index (module_versions_lower_path_trgm)');
    expect(warned[0].database).toBe(withIndex.database);
  });
});
