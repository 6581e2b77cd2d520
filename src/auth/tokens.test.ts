import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { eq } from 'drizzle-orm';
import { openMigratedPglite } from '../../test/support/pglite';
import { AuditLog } from '../audit';
import type { DatabaseHandle } from '../db/open';
import { apiTokens, type UserRow } from '../db/schema';
import { BadRequest } from '../errors';
import { silentLogger } from '../log';
import { generateTokenSecret, hashToken, looksLikeToken, TokenService } from './tokens';
import { UserService } from './users';

describe('token secrets', () => {
  test('a secret is orb_ followed by 43 base62 characters and never repeats', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const s = generateTokenSecret();
      expect(s).toMatch(/^orb_[0-9A-Za-z]{43}$/);
      seen.add(s);
    }
    expect(seen.size).toBe(200);
  });

  test('only the sha256 of the secret is derived for storage', () => {
    expect(hashToken('orb_x')).toMatch(/^[0-9a-f]{64}$/);
    expect(looksLikeToken('orb_abc')).toBe(true);
    expect(looksLikeToken('hunter2')).toBe(false);
  });
});

const TEST_ACTOR = { username: 'test' };

describe('TokenService', () => {
  let database: DatabaseHandle;
  let user: UserRow;
  let now = Date.parse('2030-01-01T00:00:00Z');
  let tokens: TokenService;
  beforeAll(async () => {
    database = await openMigratedPglite();
    const audit = new AuditLog(database.db, silentLogger);
    user = await new UserService(database.db, silentLogger, audit).create({ username: 'alice', password: 'alice-pw' }, TEST_ACTOR);
    tokens = new TokenService(database.db, audit, () => now);
  });
  afterAll(async () => {
    await database?.close();
  });

  test('creating stores the hash and a short display prefix, never the secret', async () => {
    const { token, secret } = await tokens.create(user, { name: 'ci' }, TEST_ACTOR);
    const [row] = await database.db.select().from(apiTokens).where(eq(apiTokens.id, token.id));
    expect(row.tokenHash).toBe(hashToken(secret));
    expect(secret.startsWith(row.displayPrefix)).toBe(true);
    expect(row.displayPrefix.length).toBe(10);
    expect(JSON.stringify(row)).not.toContain(secret);
    expect(JSON.stringify(await tokens.list(user))).not.toContain(secret);
  });

  test.each([
    ['an empty name', { name: '  ' }],
    ['an expiry in the past', { name: 'x', expiresAt: '2029-12-31T00:00:00Z' }],
    ['an unparsable expiry', { name: 'x', expiresAt: 'tomorrow' }],
  ])('creating with %s is refused', async (_, input) => {
    await expect(tokens.create(user, input, TEST_ACTOR)).rejects.toBeInstanceOf(BadRequest);
  });

  test('lookup finds the token by its secret, and isUsable reports revoked and expired', async () => {
    const { token, secret } = await tokens.create(user, { name: 'short', expiresAt: new Date(now + 1_000) }, TEST_ACTOR);
    const found = await tokens.lookup(secret);
    expect(found?.user.username).toBe('alice');
    expect(tokens.isUsable(found!.token)).toBe('ok');
    now += 1_000;
    expect(tokens.isUsable(found!.token)).toBe('expired');
    await tokens.revoke(token.id, TEST_ACTOR);
    expect(tokens.isUsable((await tokens.lookup(secret))!.token)).toBe('revoked');
    expect(await tokens.lookup(`${secret}x`)).toBeNull();
  });

  test('revoking twice keeps the first revocation time', async () => {
    const { token } = await tokens.create(user, { name: 'twice' }, TEST_ACTOR);
    const first = await tokens.revoke(token.id, TEST_ACTOR);
    now += 5_000;
    const second = await tokens.revoke(token.id, TEST_ACTOR);
    expect(second.revokedAt).toBe(first.revokedAt);
  });

  // The go command sends the token on every request; a write per request would be the real cost of auth.
  test('lastUsedAt is written at most once a minute', async () => {
    const { token, secret } = await tokens.create(user, { name: 'busy' }, TEST_ACTOR);
    const lastUsed = async () =>
      (await database.db.select().from(apiTokens).where(eq(apiTokens.id, token.id)))[0].lastUsedAt?.getTime() ?? null;
    const start = now;
    await tokens.touch((await tokens.lookup(secret))!.token);
    expect(await lastUsed()).toBe(start);
    now += 30_000;
    await tokens.touch((await tokens.lookup(secret))!.token);
    expect(await lastUsed()).toBe(start);
    now += 31_000;
    await tokens.touch((await tokens.lookup(secret))!.token);
    expect(await lastUsed()).toBe(start + 61_000);
  });
});
