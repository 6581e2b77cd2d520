import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { eq } from 'drizzle-orm';
import { apiTokens, auditLog } from '../../src/db/schema';
import { basic, startTestApp, type TestApp } from '../support/app';
import { testDatabaseKinds } from '../support/db';
import { HANG_LIMIT_MS } from '../support/limits';

describe.each(testDatabaseKinds())('API tokens on %s', (dbKind) => {
  let t: TestApp;
  const ALICE = basic('alice', 'alice-password');
  const BOB = basic('bob', 'bob-password');
  beforeAll(async () => {
    t = await startTestApp({ db: dbKind });
    expect((await t.api('POST', '/users', { username: 'alice', password: 'alice-password' })).status).toBe(201);
    expect((await t.api('POST', '/users', { username: 'bob', password: 'bob-password' })).status).toBe(201);
  }, HANG_LIMIT_MS);
  beforeEach(() => t.ctx.auth.throttle.reset());
  afterAll(async () => {
    await t?.close();
  });

  const create = async (auth: string, body: unknown = { name: 'ci' }) => {
    const res = await t.api('POST', '/tokens', body, auth);
    expect(res.status).toBe(201);
    return res.json();
  };

  test('creating a token returns the secret once, and only its hash is stored', async () => {
    const res = await t.api('POST', '/tokens', { name: 'laptop', expiresAt: '2999-01-01T00:00:00Z' }, ALICE);
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const created = await res.json();
    expect(created).toMatchObject({
      username: 'alice',
      name: 'laptop',
      expiresAt: '2999-01-01T00:00:00.000Z',
      lastUsedAt: null,
      revokedAt: null,
    });
    expect(created.token).toMatch(/^orb_[0-9A-Za-z]{43}$/);
    expect(created.token.startsWith(created.displayPrefix)).toBe(true);
    const [row] = await t.ctx.db.select().from(apiTokens).where(eq(apiTokens.id, created.id));
    expect(row.tokenHash).toBe(new Bun.CryptoHasher('sha256').update(created.token).digest('hex'));
    const list = await (await t.api('GET', '/tokens', undefined, ALICE)).json();
    expect(list.map((x: { name: string }) => x.name)).toEqual(['laptop']);
    expect(JSON.stringify(list)).not.toContain(created.token);
    expect(Object.keys(list[0]).sort()).toEqual([
      'createdAt',
      'displayPrefix',
      'expiresAt',
      'id',
      'lastUsedAt',
      'name',
      'revokedAt',
      'username',
    ]);
  });

  test.each([
    ['no name', {}],
    ['an expiry in the past', { name: 'old', expiresAt: '2001-01-01T00:00:00Z' }],
    ['an expiry that is not a date', { name: 'bad', expiresAt: 'soon' }],
  ])('creating a token with %s is a 400', async (_, body) => {
    expect((await t.api('POST', '/tokens', body, ALICE)).status).toBe(400);
  });

  // A leaked token must not be able to mint successors that survive its revocation.
  test('a token cannot create another token', async () => {
    const { token } = await create(ALICE);
    const res = await t.api('POST', '/tokens', { name: 'child' }, `Bearer ${token}`);
    expect(res.status).toBe(403);
    expect((await t.api('GET', '/tokens', undefined, `Bearer ${token}`)).status).toBe(200);
  });

  test("users list only their own tokens; an administrator lists anyone's", async () => {
    await create(BOB, { name: 'bob-ci' });
    const bobs = await (await t.api('GET', '/tokens', undefined, BOB)).json();
    expect(bobs.map((x: { name: string }) => x.name)).toEqual(['bob-ci']);
    expect((await t.api('GET', '/tokens?user=alice', undefined, BOB)).status).toBe(403);
    expect((await t.api('GET', '/users/alice/tokens', undefined, BOB)).status).toBe(403);
    const viaQuery = await (await t.api('GET', '/tokens?user=bob')).json();
    const viaPath = await (await t.api('GET', '/users/bob/tokens')).json();
    expect(viaQuery).toEqual(viaPath);
    expect(viaQuery.map((x: { name: string }) => x.name)).toEqual(['bob-ci']);
    expect((await t.api('GET', '/tokens?user=nobody')).status).toBe(404);
  });

  test('revoking a token sets revokedAt and the token stops working on the next request', async () => {
    const { id, token } = await create(ALICE);
    expect((await t.api('GET', '/users/me', undefined, `Bearer ${token}`)).status).toBe(200);
    expect((await t.api('DELETE', `/tokens/${id}`, undefined, ALICE)).status).toBe(204);
    const res = await t.api('GET', '/users/me', undefined, basic('alice', token));
    expect(res.status).toBe(401);
    expect((await res.json()).message).toContain('revoked');
    const listed = (await (await t.api('GET', '/tokens', undefined, ALICE)).json()).find((x: { id: number }) => x.id === id);
    expect(listed.revokedAt).toBeString();
    // Revoking again is not an error.
    expect((await t.api('DELETE', `/tokens/${id}`, undefined, ALICE)).status).toBe(204);
  });

  test('a token seen before is settled from memory with the principal authenticate gives, and every change sends it back to authenticate', async () => {
    await t.api('POST', '/users', { username: 'dora', password: 'dora-password' });
    const DORA = basic('dora', 'dora-password');
    const { id, token } = await create(DORA, { name: 'warm' });
    const creds = (authorization: string) => ({ authorization, cookie: null, clientAddress: '127.0.0.1', method: 'GET' });
    const auth = t.ctx.auth;
    // Never seen: nothing in memory, authenticate decides (and remembers).
    expect(auth.authenticateKnown(creds(basic('dora', token)))).toBeUndefined();
    const full = await auth.authenticate(creds(basic('dora', token)));
    const known = auth.authenticateKnown(creds(basic('dora', token)));
    expect(known).toEqual(full);
    expect(known).toMatchObject({ kind: 'user', username: 'dora', via: 'token', tokenId: id });
    // The same object while nothing changes: no allocation per request.
    expect(auth.authenticateKnown(creds(basic('dora', token)))).toBe(known);
    await auth.authenticate(creds(`Bearer ${token}`));
    expect(auth.authenticateKnown(creds(`Bearer ${token}`))).toEqual(full);
    // Another user's name with the token: not settled here; authenticate refuses it.
    expect(auth.authenticateKnown(creds(basic('alice', token)))).toBeUndefined();
    await expect(auth.authenticate(creds(basic('alice', token)))).rejects.toThrow();
    // Owner disabled: dropped from memory, authenticate refuses.
    expect((await t.api('PATCH', '/users/dora', { disabled: true })).status).toBe(200);
    expect(auth.authenticateKnown(creds(basic('dora', token)))).toBeUndefined();
    await expect(auth.authenticate(creds(basic('dora', token)))).rejects.toThrow(/disabled/);
    expect((await t.api('PATCH', '/users/dora', { disabled: false })).status).toBe(200);
    await auth.authenticate(creds(basic('dora', token)));
    expect(auth.authenticateKnown(creds(basic('dora', token)))).toMatchObject({ username: 'dora' });
    // Revoked: the next request is refused.
    expect((await t.api('DELETE', `/tokens/${id}`, undefined, DORA)).status).toBe(204);
    expect(auth.authenticateKnown(creds(basic('dora', token)))).toBeUndefined();
    await expect(auth.authenticate(creds(basic('dora', token)))).rejects.toThrow(/revoked/);
  });

  test("a user may not revoke someone else's token; an administrator may", async () => {
    const { id, token } = await create(BOB, { name: 'bob-2' });
    expect((await t.api('DELETE', `/tokens/${id}`, undefined, ALICE)).status).toBe(403);
    expect((await t.api('GET', '/users/me', undefined, `Bearer ${token}`)).status).toBe(200);
    expect((await t.api('DELETE', `/tokens/${id}`)).status).toBe(204);
    expect((await t.api('GET', '/users/me', undefined, `Bearer ${token}`)).status).toBe(401);
    expect((await t.api('DELETE', '/tokens/999999')).status).toBe(404);
    expect((await t.api('DELETE', '/tokens/abc')).status).toBe(400);
  });

  test('creating and revoking are audit-logged without the secret', async () => {
    const rows = await t.ctx.db.select().from(auditLog);
    expect(rows.map((r) => r.action)).toEqual(expect.arrayContaining(['token.create', 'token.revoke']));
    expect(JSON.stringify(rows)).not.toMatch(/orb_[0-9A-Za-z]{20}/);
    expect(rows.find((r) => r.action === 'token.revoke' && r.actor === 'admin')?.target).toStartWith('bob/');
  });
});
