import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { modulePathSortKey, sortByModulePath } from '../../src/goproxy/module-path';
import { startTestApp, type TestApp } from '../support/app';
import { testDatabaseKinds } from '../support/db';
import { HANG_LIMIT_MS } from '../support/limits';
import { versionRows } from '../support/version-rows';
import { signIn, type UiClient } from './ui-helpers';

// Rows are written directly: what is under test is finding modules, not publishing them.
const PASSWORD = 'viewer-password-1';

describe.each(testDatabaseKinds())('module search and group pages on %s', (dbKind) => {
  let t: TestApp;
  let viewer: UiClient;
  let groupOnly: UiClient;

  beforeAll(async () => {
    t = await startTestApp({ db: dbKind });
    for (const body of [
      { name: 'internal', type: 'hosted' },
      { name: 'secret', type: 'hosted' },
      { name: 'mirror', type: 'proxy', remoteUrl: 'http://127.0.0.1:9', anonymousRead: false },
      { name: 'all', type: 'group', members: ['internal', 'secret', 'mirror'] },
    ]) {
      expect((await t.api('POST', '/repositories', body)).status).toBe(201);
    }
    const { add, insert } = versionRows(t);
    await add('internal', 'example.com/team/svc-10', ['v1.0.0']);
    await add('internal', 'example.com/team/svc-2', ['v1.0.0', 'v1.1.0']);
    await add('internal', 'example.com/Team/Upper_Case', ['v0.1.0']);
    await add('mirror', 'example.com/team/svc-2', ['v1.0.0']);
    await add('mirror', 'golang.org/x/svcutil', ['v0.3.0']);
    await add('secret', 'example.com/team/svc-secret', ['v1.0.0']);
    for (let i = 0; i < 60; i++) await add('internal', `example.com/bulk/m${i}`, ['v1.0.0']);
    // More rows than one step of the browse walk reads, none readable by the viewer, sorting before everything it reads.
    for (let i = 0; i < 1500; i++) await add('secret', `example.com/aaa/hidden-${i}`, ['v1.0.0']);
    await insert();
    for (const [username, repos] of [
      ['viewer', ['internal', 'mirror', 'all']],
      ['grouponly', ['all']],
    ] as const) {
      await t.api('POST', '/users', { username, password: PASSWORD });
      for (const repo of repos)
        expect((await t.api('PUT', `/repositories/${repo}/permissions/${username}`, { role: 'read' })).status).toBeLessThan(300);
    }
    viewer = await signIn(t, 'viewer', PASSWORD);
    groupOnly = await signIn(t, 'grouponly', PASSWORD);
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await t?.close();
  });

  const modulesIn = (html: string) => [...html.matchAll(/<td><a class="mono" href="[^"]*">([^<]+)<\/a><\/td>/g)].map((m) => m[1]);

  test('every page has the search box in its header', async () => {
    const { html } = await viewer.page('/');
    expect(html).toMatch(/<form method="get" action="\/search" class="header-search" role="search">/);
  });

  test('search finds module paths containing the text across readable repositories, prefix matches first, in natural order', async () => {
    const { status, html } = await viewer.page('/search?q=svc');
    expect(status).toBe(200);
    // No path starts with "svc": all are substring matches, ordered naturally.
    expect(modulesIn(html)).toEqual(['example.com/team/svc-2', 'example.com/team/svc-10', 'golang.org/x/svcutil']);
    const prefixed = modulesIn((await viewer.page('/search?q=golang.org/x/svc')).html);
    expect(prefixed).toEqual(['golang.org/x/svcutil']);
    const ranked = modulesIn((await viewer.page('/search?q=example.com/team/svc-1')).html);
    expect(ranked).toEqual(['example.com/team/svc-10']);
  });

  test('a module held in several places is listed once, with each place and the group member its versions come from', async () => {
    const { html } = await viewer.page('/search?q=svc-2');
    expect(modulesIn(html)).toEqual(['example.com/team/svc-2']);
    const places = [
      ...html.matchAll(
        /<li>\s*(?:<a href="\/repositories\/(\w+)">\w+<\/a> <span[^>]*>→<\/span> )?<a href="\/repositories\/(\w+)\/module\?[^"]*">/g,
      ),
    ].map((m) => `${m[1] ? `${m[1]}→` : ''}${m[2]}`);
    expect(places).toEqual(['internal', 'mirror', 'all→internal', 'all→mirror']);
  });

  test('a repository the viewer may not read is never searched, not even through a group it may read', async () => {
    const { html } = await viewer.page('/search?q=secret');
    expect(modulesIn(html)).toEqual([]);
    expect(html).not.toContain('svc-secret');
  });

  test('a viewer who may read only the group finds nothing of members it may not read', async () => {
    expect(modulesIn((await groupOnly.page('/search?q=svc')).html)).toEqual([]);
    const group = await groupOnly.page('/repositories/all');
    expect(group.status).toBe(200);
    expect(modulesIn(group.html)).toEqual([]);
    expect(group.html).toContain('No modules in the members you may read.');
  });

  test('the group page lists the modules of the members the viewer may read, filtered by its search', async () => {
    const { html } = await viewer.page('/repositories/all?q=team');
    expect(modulesIn(html)).toEqual(['example.com/team/svc-2', 'example.com/team/svc-10', 'example.com/Team/Upper_Case']);
    expect(html).not.toContain('svc-secret');
  });

  test("without a query the group page browses its readable members' modules a page at a time", async () => {
    const first = await viewer.page('/repositories/all');
    const next = /<a href="(\/repositories\/all\?q=&amp;after=[^"]+)" rel="next">Next →<\/a>/.exec(first.html);
    expect(next).not.toBeNull();
    const second = await viewer.page(next![1].replaceAll('&amp;', '&'));
    const all = [...modulesIn(first.html), ...modulesIn(second.html)];
    expect(all).toHaveLength(64);
    expect(new Set(all).size).toBe(64);
    expect(all).not.toContain('example.com/team/svc-secret');
    expect(second.html).not.toContain('rel="next"');
  });

  test('search ignores case and matches LIKE wildcards literally', async () => {
    expect(modulesIn((await viewer.page('/search?q=upper_case')).html)).toEqual(['example.com/Team/Upper_Case']);
    expect(modulesIn((await viewer.page('/search?q=upper%25case')).html)).toEqual([]);
    expect(modulesIn((await viewer.page('/search?q=team_')).html)).toEqual([]);
  });

  test('search results come 50 a page with links between the pages', async () => {
    const first = await viewer.page('/search?q=example.com/bulk/');
    expect(modulesIn(first.html)).toHaveLength(50);
    expect(modulesIn(first.html)[0]).toBe('example.com/bulk/m0');
    expect(first.html).toContain('(1–50 of 60)');
    expect(first.html).toContain('<a href="/search?q=example.com%2Fbulk%2F&amp;offset=50" rel="next">');
    const second = await viewer.page('/search?q=example.com/bulk/&offset=50');
    expect(modulesIn(second.html)).toEqual(Array.from({ length: 10 }, (_, i) => `example.com/bulk/m${50 + i}`));
    expect(second.html).toContain('rel="prev"');
  });

  // Browsing is keyset-paged from the natural-order index and counts nothing: the pages, joined, are every
  // readable module once, in natural order.
  test('an empty search lists every module the viewer may read, a page at a time in natural order', async () => {
    const first = await viewer.page('/search');
    expect(first.html).toContain('(50 on this page)');
    const next = /<a href="(\/search\?q=&amp;after=[^"]+)" rel="next">Next →<\/a>/.exec(first.html);
    expect(next).not.toBeNull();
    const second = await viewer.page(next![1].replaceAll('&amp;', '&'));
    expect(second.html).toContain('(14 on this page)');
    expect(second.html).not.toContain('rel="next"');
    expect(second.html).toContain('<a href="/search?q=">← First page</a>');
    const expected = sortByModulePath(
      [
        'example.com/team/svc-10',
        'example.com/team/svc-2',
        'example.com/Team/Upper_Case',
        'golang.org/x/svcutil',
        ...Array.from({ length: 60 }, (_, i) => `example.com/bulk/m${i}`),
      ],
      (m) => m,
    );
    expect([...modulesIn(first.html), ...modulesIn(second.html)]).toEqual(expected);
    expect(expected.indexOf('example.com/team/svc-2')).toBeLessThan(expected.indexOf('example.com/team/svc-10'));
  });

  test('the natural-order key the browse index is built on is the one the server sorts by', async () => {
    const paths = ['svc-2', 'svc-10', 'a/b00/c', 'x000', 'X9Y99z', 'Team/Upper_Case', 'v2', '007bond', 'abc123def4567890123x'];
    for (const path of paths) {
      const res = await t.ctx.db.execute(sql`select module_path_sort_key(${path}) as k`);
      const rows = (Array.isArray(res) ? res : (res as { rows: unknown[] }).rows) as { k: string }[];
      expect(rows[0].k).toBe(modulePathSortKey(path));
    }
  });

  test('search needs a signed-in user', async () => {
    const res = await t.request('/search?q=svc', { redirect: 'manual' });
    expect(res.status).toBe(303);
  });

  test('the migration made the index prefix searches use', async () => {
    const res = await t.ctx.db.execute(sql`select indexdef from pg_indexes where indexname = 'module_versions_lower_path'`);
    const rows = (Array.isArray(res) ? res : (res as { rows: unknown[] }).rows) as { indexdef: string }[];
    expect(rows[0]?.indexdef).toContain('lower(module_path) text_pattern_ops');
  });

  // PGlite loads pg_trgm itself and the test server has it: both get the index (a server without it is module-search-no-trgm's).
  test('the migration made the trigram index substring searches use', async () => {
    const res = await t.ctx.db.execute(sql`select indexdef from pg_indexes where indexname = 'module_versions_lower_path_trgm'`);
    const rows = (Array.isArray(res) ? res : (res as { rows: unknown[] }).rows) as { indexdef: string }[];
    expect(rows[0]?.indexdef).toContain('USING gin (lower(module_path) gin_trgm_ops)');
  });
});
