import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { moduleVersions } from '../../src/db/schema';
import { ADMIN_PASSWORD, startTestApp, type TestApp } from '../support/app';
import { testDatabaseKinds } from '../support/db';
import { HANG_LIMIT_MS } from '../support/limits';
import { signIn } from './ui-helpers';

// Rows are written directly: what is under test is paging and ordering, not publishing 150 versions.
const MANY = 'example.com/many';
const VERSIONS = Array.from({ length: 150 }, (_, i) => `v1.${Math.floor(i / 10)}.${i % 10}`).concat(['v2.0.0-rc.1', 'v0.9.0']);

describe.each(testDatabaseKinds())('module and version pages on %s', (dbKind) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ db: dbKind });
    expect((await t.api('POST', '/repositories', { name: 'internal', type: 'hosted' })).status).toBe(201);
    const repo = await t.ctx.repositories.rowByName('internal');
    const row = (modulePath: string, version: string) => ({
      repositoryId: repo.id,
      modulePath,
      version,
      time: new Date('2026-01-01T00:00:00Z'),
      origin: 'uploaded' as const,
    });
    await t.ctx.db.insert(moduleVersions).values(VERSIONS.map((v) => row(MANY, v)));
    await t.ctx.db
      .insert(moduleVersions)
      .values(['svc-1', 'svc-10', 'svc-11', 'svc-2', 'svc-20', 'svc-3'].map((s) => row(`example.com/${s}`, 'v1.0.0')));
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await t?.close();
  });

  const versionsOf = async (query: string) => {
    const res = await t.api('GET', `/repositories/internal/modules/versions?module=${encodeURIComponent(MANY)}${query}`);
    expect(res.status).toBe(200);
    return { res, versions: ((await res.json()) as { version: string }[]).map((v) => v.version) };
  };

  test('module paths sort naturally: svc-2 before svc-10', async () => {
    const page = await (await t.api('GET', '/repositories/internal/modules?prefix=example.com/svc')).json();
    expect(page.modules.map((m: { module: string }) => m.module.slice('example.com/'.length))).toEqual([
      'svc-1',
      'svc-2',
      'svc-3',
      'svc-10',
      'svc-11',
      'svc-20',
    ]);
  });

  test('module pages follow the natural order too', async () => {
    const second = await (await t.api('GET', '/repositories/internal/modules?prefix=example.com/svc&limit=2&offset=2')).json();
    expect(second.total).toBe(6);
    expect(second.modules.map((m: { module: string }) => m.module)).toEqual(['example.com/svc-3', 'example.com/svc-10']);
  });

  test('versions come newest first in semver order, a page at a time, with the total and a next link', async () => {
    const { res, versions } = await versionsOf('&limit=20');
    expect(res.headers.get('x-total-count')).toBe(String(VERSIONS.length));
    // Semver, not text: v2.0.0-rc.1 is above every v1, v1.14.9 above v1.9.9.
    expect(versions.slice(0, 3)).toEqual(['v2.0.0-rc.1', 'v1.14.9', 'v1.14.8']);
    expect(versions).toHaveLength(20);
    const link = res.headers.get('link');
    expect(link).toContain('rel="next"');
    expect(link).toContain(`cursor=${encodeURIComponent(versions[19])}`);
  });

  test('following the cursor walks every version once, in order, and the last page has no next link', async () => {
    const seen: string[] = [];
    let next: string | null = `/api/v1/repositories/internal/modules/versions?module=${encodeURIComponent(MANY)}&limit=40`;
    let pages = 0;
    while (next) {
      const res = await t.api('GET', next.replace(/^\/api\/v1/, ''));
      expect(res.status).toBe(200);
      seen.push(...((await res.json()) as { version: string }[]).map((v) => v.version));
      next = res.headers.get('link')?.match(/^<([^>]+)>; rel="next"$/)?.[1] ?? null;
      pages++;
    }
    expect(pages).toBe(4);
    expect(seen).toHaveLength(VERSIONS.length);
    expect(new Set(seen).size).toBe(VERSIONS.length);
    expect(seen.at(-1)).toBe('v0.9.0');
  });

  test('a version published after the first page does not shift the next page', async () => {
    const first = await versionsOf('&limit=10');
    const repo = await t.ctx.repositories.rowByName('internal');
    await t.ctx.db
      .insert(moduleVersions)
      .values({ repositoryId: repo.id, modulePath: MANY, version: 'v3.0.0', time: new Date(), origin: 'uploaded' });
    const second = await versionsOf(`&limit=10&cursor=${encodeURIComponent(first.versions[9])}`);
    expect(second.versions[0]).toBe('v1.14.0');
    expect(second.versions).not.toContain(first.versions[9]);
  });

  test('without a limit a page holds 100 versions', async () => {
    expect((await versionsOf('')).versions).toHaveLength(100);
  });

  test.each([
    ['a cursor that is not a version', '&cursor=latest'],
    ['a limit of 0', '&limit=0'],
    ['a limit above the maximum', '&limit=501'],
  ])('%s is a 400 with the JSON error shape', async (_, query) => {
    const res = await t.api('GET', `/repositories/internal/modules/versions?module=${encodeURIComponent(MANY)}${query}`);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'bad_request' });
  });

  test('the module page shows 50 versions at a time, newest first, with a link to older ones and back', async () => {
    const ui = await signIn(t, 'admin', ADMIN_PASSWORD);
    const base = `/repositories/internal/module?module=${encodeURIComponent(MANY)}`;
    const first = (await ui.page(base)).html;
    const rows = (html: string) => [...html.matchAll(/<td><a class="mono" href="[^"]*">(v[^<]+)<\/a>/g)].map((m) => m[1]);
    expect(rows(first)).toHaveLength(50);
    expect(rows(first)[0]).toBe('v3.0.0');
    const older = first.match(/<a href="([^"]+)" rel="next">Older/)?.[1];
    expect(older).toBeDefined();
    const second = (await ui.page(older!.replaceAll('&amp;', '&'))).html;
    // v3.0.0, v2.0.0-rc.1 and 48 of the v1.x on the first page (v3.0.0 was published by an earlier test).
    expect(rows(second)[0]).toBe('v1.10.1');
    expect(second).toContain('rel="first">← Newest</a>');
  });
});
