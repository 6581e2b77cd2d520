/**
 * Module search over 10 000 modules (issue 22): p50 / p99 of one search, on PGlite and PostgreSQL: a rare
 * substring, a common one, a prefix, a text found nowhere, a 2-character text (too short for the trigram
 * index) and the empty query's browse page. Each database's header says whether it has the trigram index
 * (migration 0006), so the file also times a checkout without it.
 *
 *   bun bench/search.bench.ts [--pglite] [--postgres] [--modules=10000] [--repos=4] [--iterations=200]
 *
 * For each database (both by default): an app on a throwaway database (PostgreSQL: a throwaway database
 * on ORBITREPO_TEST_DATABASE_URL or the local server), `repos` hosted repositories and a group of them,
 * `modules` module paths spread over the repositories (2 versions each; every tenth module is held by
 * two repositories, so de-duplication has work to do), rows written directly. Then, for each query, the
 * search service (readable repositories, group members, the SQL, natural order and de-duplication) and
 * the whole /search page through app.handle (session, rendering) are timed `iterations` times after a
 * warm-up. There is no nginx reference here: nothing static could serve an answer that depends on the
 * query and on who asks. The machine is shared: the load average is printed with the figures.
 */
import { loadavg } from 'node:os';
import { sql } from 'drizzle-orm';
import type { Principal } from '../src/auth/principal';
import { moduleVersions } from '../src/db/schema';
import { readableRepositories } from '../src/http/repository-access';
import { signIn } from '../test/integration/ui-helpers';
import { startTestApp } from '../test/support/app';
import { benchArgs } from './support/args';

const args = benchArgs();
const MODULES = Number(args.get('modules') ?? 10_000);
const REPOS = Number(args.get('repos') ?? 4);
const ITERATIONS = Number(args.get('iterations') ?? 200);
process.env.ORBITREPO_TEST_DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/test';
const kinds: ('pglite' | 'postgres')[] = [];
if (args.has('pglite')) kinds.push('pglite');
if (args.has('postgres')) kinds.push('postgres');
if (kinds.length === 0) kinds.push('pglite', 'postgres');

const DEV_PASSWORD = 'dev-password-1';

const QUERIES: [string, string][] = [
  ['substring, few hits', 'svc-4242'],
  ['substring, many hits', 'svc-1'],
  ['prefix, many hits', 'example.com/org-3/'],
  ['no hit', 'nothing-here'],
  // Too short for a trigram: the scan, whatever the database has.
  ['2 characters', '42'],
  ['empty: browse, first page (keyset, natural order)', ''],
];

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function time(fn: () => Promise<unknown>): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < 5; i++) await fn();
  const ms: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    const start = performance.now();
    await fn();
    ms.push(performance.now() - start);
  }
  ms.sort((a, b) => a - b);
  return { p50: percentile(ms, 50), p99: percentile(ms, 99) };
}

for (const kind of kinds) {
  const t = await startTestApp({ db: kind });
  try {
    const names = Array.from({ length: REPOS }, (_, i) => `repo-${i}`);
    for (const name of names) await t.api('POST', '/repositories', { name, type: 'hosted' });
    await t.api('POST', '/repositories', { name: 'everything', type: 'group', members: names });
    const ids = await Promise.all(names.map(async (n) => (await t.ctx.repositories.rowByName(n)).id));
    const rows: (typeof moduleVersions.$inferInsert)[] = [];
    for (let i = 0; i < MODULES; i++) {
      const modulePath = `example.com/org-${i % 10}/svc-${i}`;
      const holders = i % 10 === 0 ? [ids[i % REPOS], ids[(i + 1) % REPOS]] : [ids[i % REPOS]];
      for (const repositoryId of holders) {
        for (const version of ['v1.0.0', 'v1.1.0']) rows.push({ repositoryId, modulePath, version, time: new Date(), origin: 'uploaded' });
      }
    }
    for (let i = 0; i < rows.length; i += 2000) await t.ctx.db.insert(moduleVersions).values(rows.slice(i, i + 2000));
    if (kind === 'postgres') await t.ctx.db.execute('analyze module_versions');
    // A developer who reads every repository through grants (an administrator would skip the permission checks).
    const dev = await t.ctx.users.create({ username: 'dev', password: DEV_PASSWORD }, { username: 'test' });
    for (const name of [...names, 'everything']) await t.api('PUT', `/repositories/${name}/permissions/dev`, { role: 'read' });
    const ui = await signIn(t, 'dev', DEV_PASSWORD);
    const principal: Principal = { kind: 'user', userId: dev.id, username: 'dev', isAdmin: false, via: 'session' };

    const trigram = await t.ctx.db.execute(sql`select 1 from pg_indexes where indexname = 'module_versions_lower_path_trgm'`);
    const hasTrigram = (Array.isArray(trigram) ? trigram : (trigram as { rows: unknown[] }).rows).length > 0;
    console.log(
      `\n${kind}: ${MODULES} modules, ${rows.length} version rows in ${REPOS} repositories + 1 group; trigram index: ${hasTrigram ? 'yes' : 'no'}; ${ITERATIONS} iterations; load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    console.log('| query | hits | service p50 | service p99 | /search page p50 | /search page p99 |');
    console.log('|---|---|---|---|---|---|');
    for (const [label, q] of QUERIES) {
      const service = async () => {
        const places = await t.ctx.search.places(await readableRepositories(t.ctx, principal));
        return t.ctx.search.search(places, { q, limit: 50 });
      };
      const first = await service();
      // Browsing (empty query) counts nothing: it reports the page it read.
      const total = first.total ?? `first page: ${first.hits.length}`;
      const s = await time(service);
      const path = `/search?q=${encodeURIComponent(q)}`;
      const p = await time(async () => {
        const res = await ui.get(path);
        if (res.status !== 200) throw new Error(`${path} answered ${res.status}`);
        await res.text();
      });
      console.log(
        `| ${label} \`${q}\` | ${total} | ${s.p50.toFixed(1)} ms | ${s.p99.toFixed(1)} ms | ${p.p50.toFixed(1)} ms | ${p.p99.toFixed(1)} ms |`,
      );
    }
  } finally {
    await t.close();
  }
}
