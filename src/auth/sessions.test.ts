import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { openMigratedPglite } from '../../test/support/pglite';
import { AuditLog } from '../audit';
import type { DatabaseHandle } from '../db/open';
import type { UserRow } from '../db/schema';
import { silentLogger } from '../log';
import { SessionService, safeEqual, sessionCookie, sessionIdOf, sessionSecretFromCookie } from './sessions';
import { UserService } from './users';

describe('session cookies', () => {
  test('the secret is read from among other cookies, and junk is ignored', () => {
    const secret = 'A'.repeat(43);
    expect(sessionSecretFromCookie(`a=1; orbit_session=${secret}; b=2`)).toBe(secret);
    expect(sessionSecretFromCookie('orbit_session=short')).toBeNull();
    expect(sessionSecretFromCookie('orbit_session=has spaces and ; semis')).toBeNull();
    expect(sessionSecretFromCookie(null)).toBeNull();
  });

  test('the cookie is HttpOnly and SameSite=Strict, and Secure under TLS', () => {
    expect(sessionCookie('s', { secure: false })).toBe('orbit_session=s; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200');
    expect(sessionCookie('s', { secure: true, path: '/x' })).toContain('; Secure');
  });

  test('safeEqual compares strings of any length', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('abc', 'abcd')).toBe(false);
    expect(safeEqual('', '')).toBe(true);
  });
});

describe('SessionService', () => {
  let database: DatabaseHandle;
  let user: UserRow;
  let now = Date.parse('2030-01-01T00:00:00Z');
  let sessions: SessionService;
  beforeAll(async () => {
    database = await openMigratedPglite();
    user = await new UserService(database.db, silentLogger, new AuditLog(database.db, silentLogger)).create(
      { username: 'bob', password: 'bob-password' },
      { username: 'test' },
    );
    sessions = new SessionService(database.db, 60_000, () => now);
  });
  afterAll(async () => {
    await database?.close();
  });

  test('a new session is found by its secret until it expires, and its row id is the hash of the secret', async () => {
    const { secret, csrfToken } = await sessions.createSession(user.id);
    const s = await sessions.lookup(secret);
    expect(s?.id).toBe(sessionIdOf(secret));
    expect(s?.id).not.toBe(secret);
    expect(s?.user.username).toBe('bob');
    expect(sessions.verifyCsrf(s!, csrfToken)).toBe(true);
    expect(sessions.verifyCsrf(s!, `${csrfToken}x`)).toBe(false);
    expect(sessions.verifyCsrf(s!, null)).toBe(false);
    now += 60_001;
    expect(await sessions.lookup(secret)).toBeNull();
  });

  test('destroySession ends one session; destroyUserSessions ends all but the one kept', async () => {
    const a = await sessions.createSession(user.id);
    const b = await sessions.createSession(user.id);
    const c = await sessions.createSession(user.id);
    await sessions.destroySession(a.secret);
    expect(await sessions.lookup(a.secret)).toBeNull();
    await sessions.destroyUserSessions(user.id, sessionIdOf(c.secret));
    expect(await sessions.lookup(b.secret)).toBeNull();
    expect(await sessions.lookup(c.secret)).not.toBeNull();
  });
});
