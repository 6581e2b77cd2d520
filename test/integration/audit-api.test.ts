import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { ADMIN_AUTH, basic, startTestApp, type TestApp } from '../support/app';
import { testDatabaseKinds } from '../support/db';
import { buildModuleZip } from '../support/zipbuild';
import { signIn } from './ui-helpers';

interface Entry {
  id: number;
  at: string;
  actor: string | null;
  action: string;
  repository: string | null;
  target: string | null;
  details: Record<string, unknown>;
  clientAddress: string | null;
}
interface Page {
  entries: Entry[];
  nextCursor: string | null;
}

describe.each(testDatabaseKinds())('audit log on %s', (dbKind) => {
  let t: TestApp;
  const audit = async (query = '', auth: string | null = ADMIN_AUTH) => t.request(`/api/v1/audit${query}`, { auth });
  const page = async (query = ''): Promise<Page> => {
    const res = await audit(query);
    expect(res.status).toBe(200);
    return (await res.json()) as Page;
  };
  const ok = async (res: Promise<Response>, status: number) => {
    const r = await res;
    const text = await r.text();
    expect(`${r.status} ${text}`).toStartWith(String(status));
    return text ? JSON.parse(text) : null;
  };

  beforeAll(async () => {
    t = await startTestApp({ db: dbKind });
    // Every administrative and publishing action the API offers, once each.
    await ok(t.api('POST', '/repositories', { name: 'audited', type: 'hosted' }), 201);
    await ok(t.api('PATCH', '/repositories/audited', { anonymousRead: true }), 200);
    await ok(t.api('POST', '/users', { username: 'carol', password: 'carol-pw-1' }), 201);
    await ok(t.api('PATCH', '/users/carol', { isAdmin: false }), 200);
    await ok(t.api('PUT', '/repositories/audited/permissions/carol', { role: 'write' }), 200);
    const zip = buildModuleZip('example.com/audited', 'v1.0.0', { 'go.mod': 'module example.com/audited\n' });
    const carol = basic('carol', 'carol-pw-1');
    await ok(t.request('/go/audited/example.com/audited/@v/v1.0.0.zip', { method: 'PUT', auth: carol, body: zip }), 201);
    await ok(t.api('DELETE', '/repositories/audited/modules/versions?module=example.com/audited&version=v1.0.0'), 204);
    await ok(t.api('DELETE', '/repositories/audited/permissions/carol'), 204);
    const token = await ok(t.api('POST', '/tokens', { name: 'ci' }, carol), 201);
    await ok(t.api('DELETE', `/tokens/${token.id}`, undefined, carol), 204);
    await ok(t.api('PUT', '/users/me/password', { currentPassword: 'carol-pw-1', newPassword: 'carol-pw-2' }, carol), 204);
    await ok(t.api('DELETE', '/users/carol'), 204);
    await ok(t.api('DELETE', '/repositories/audited'), 204);
  }, 180_000);
  afterAll(async () => {
    await t?.close();
  });

  test('every administrative and publishing action is in the audit log, newest first, with who and from where', async () => {
    const { entries } = await page('?limit=500');
    const actions = entries.map((e) => e.action);
    expect(actions.slice(0, 13).reverse()).toEqual([
      'repository.create',
      'repository.update',
      'user.create',
      'user.update',
      'permission.grant',
      'module.publish',
      'module.delete',
      'permission.revoke',
      'token.create',
      'token.revoke',
      'user.password',
      'user.delete',
      'repository.delete',
    ]);
    const publish = entries.find((e) => e.action === 'module.publish')!;
    expect(publish).toMatchObject({ actor: 'carol', repository: 'audited', clientAddress: 'local' });
    expect(publish.target).toContain('example.com/audited');
    expect(new Date(publish.at).getTime()).toBeLessThanOrEqual(Date.now());
    expect(entries.map((e) => e.id)).toEqual([...entries.map((e) => e.id)].sort((a, b) => b - a));
  });

  test('filters: user, exact action, action family, repository', async () => {
    expect((await page('?actor=carol')).entries.map((e) => e.action)).toEqual([
      'user.password',
      'token.revoke',
      'token.create',
      'module.publish',
    ]);
    expect((await page('?action=module.publish')).entries.map((e) => e.actor)).toEqual(['carol']);
    expect((await page('?action=permission.*')).entries.map((e) => e.action)).toEqual(['permission.revoke', 'permission.grant']);
    const repo = (await page('?repository=audited')).entries;
    expect(repo.length).toBeGreaterThanOrEqual(6);
    expect(repo.every((e) => e.repository === 'audited')).toBe(true);
  });

  test('a time range selects the entries written inside it', async () => {
    const all = (await page('?limit=500')).entries;
    const middle = all[Math.floor(all.length / 2)];
    const from = new Date(middle.at).toISOString();
    const newer = (await page(`?from=${encodeURIComponent(from)}&limit=500`)).entries;
    expect(newer.length).toBeGreaterThan(0);
    expect(newer.every((e) => new Date(e.at) >= new Date(from))).toBe(true);
    const older = (await page(`?to=${encodeURIComponent(from)}&limit=500`)).entries;
    expect(older.every((e) => new Date(e.at) < new Date(from))).toBe(true);
    expect(newer.length + older.length).toBe(all.length);
  });

  test('pages of `limit` entries, followed by nextCursor, hand out every entry once and end with a null cursor', async () => {
    const all = (await page('?limit=500')).entries.map((e) => e.id);
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const p: Page = await page(`?limit=4${cursor ? `&cursor=${cursor}` : ''}`);
      expect(p.entries.length).toBeLessThanOrEqual(4);
      seen.push(...p.entries.map((e) => e.id));
      cursor = p.nextCursor;
      pages++;
    } while (cursor);
    expect(seen).toEqual(all);
    expect(pages).toBe(Math.ceil(all.length / 4));
  });

  test.each([
    ['a cursor that is not a previous nextCursor', '?cursor=abc', 'cursor'],
    ['a from time that is not a time', '?from=yesterday', 'from'],
    ['a limit over 500', '?limit=501', 'limit'],
    ['a limit of zero', '?limit=0', 'limit'],
  ])('%s is a 400 that says what is wrong', async (_what, query, names) => {
    const res = await audit(query);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; message: string };
    expect(body.message).toContain(names);
  });

  test('the audit log is for administrators: 401 without credentials, 403 for a user', async () => {
    await ok(t.api('POST', '/users', { username: 'dave', password: 'dave-pw-1' }), 201);
    expect((await audit('', null)).status).toBe(401);
    expect((await audit('', basic('dave', 'dave-pw-1'))).status).toBe(403);
  });

  test('the route is in the OpenAPI document with its filters', async () => {
    const spec = (await (await t.request('/swagger/json')).json()) as {
      paths: Record<string, { get?: { parameters?: { name: string }[] } }>;
    };
    const names = spec.paths['/api/v1/audit']?.get?.parameters?.map((p) => p.name) ?? [];
    expect(names).toEqual(expect.arrayContaining(['actor', 'action', 'repository', 'from', 'to', 'cursor', 'limit']));
  });

  test('the UI page lists entries for an administrator, filters them, and is in the navigation', async () => {
    const admin = await signIn(t, 'admin', 'admin-test-pw');
    const home = await admin.page('/');
    expect(home.html).toContain('href="/audit"');
    const all = await admin.page('/audit');
    expect(all.status).toBe(200);
    expect(all.html).toContain('<h1>Audit log</h1>');
    expect(all.html).toContain('repository.delete');
    const filtered = await admin.page('/audit?action=token.*&actor=carol');
    expect(filtered.html).toContain('token.revoke');
    expect(filtered.html).not.toContain('<code>repository.delete</code>');
    const bad = await admin.page('/audit?from=31%2F01%2F2026');
    expect(bad.status).toBe(400);
    expect(bad.html).toContain('From must be a day');
  });

  test('the UI page is refused to a user who is not an administrator, and not in their navigation', async () => {
    const dave = await signIn(t, 'dave', 'dave-pw-1');
    expect((await dave.page('/')).html).not.toContain('href="/audit"');
    expect((await dave.page('/audit')).status).toBe(403);
  });
});
