import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, spyOn, test } from 'bun:test';
import { eq } from 'drizzle-orm';
import { addressKey, signInKey } from '../../src/auth/throttle';
import { apiTokens } from '../../src/db/schema';
import type { Logger } from '../../src/log';
import { basic, startTestApp, type TestApp } from '../support/app';
import { testDatabaseKinds } from '../support/db';
import { HANG_LIMIT_MS } from '../support/limits';

/** Keeps every log call as given (before redaction), to prove no secret is ever handed to the logger. */
function capturingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const push = (level: string) => (msg: string, fields?: Record<string, unknown>) => {
    lines.push(JSON.stringify({ level, msg, fields }, (_, v) => (v instanceof Error ? v.message : v)));
  };
  return { lines, info: push('info'), warn: push('warn'), error: push('error') };
}

const ALICE_PW = 'alice-password';
const LIST = '/go/private/example.com/m/@v/list';

describe.each(testDatabaseKinds())('credentials on %s', (dbKind) => {
  let t: TestApp;
  let log: ReturnType<typeof capturingLogger>;
  let token: string;
  let tokenId: number;
  const secrets: string[] = [ALICE_PW];

  beforeAll(async () => {
    log = capturingLogger();
    t = await startTestApp({ db: dbKind, log });
    expect((await t.api('POST', '/users', { username: 'alice', password: ALICE_PW })).status).toBe(201);
    expect((await t.api('POST', '/users', { username: 'bob', password: 'bob-password' })).status).toBe(201);
    expect((await t.api('POST', '/repositories', { name: 'private', type: 'hosted' })).status).toBe(201);
    expect((await t.api('PUT', '/repositories/private/permissions/alice', { role: 'read' })).status).toBe(200);
    const created = await (await t.api('POST', '/tokens', { name: 'ci' }, basic('alice', ALICE_PW))).json();
    token = created.token;
    tokenId = created.id;
    secrets.push(token);
  }, HANG_LIMIT_MS);
  beforeEach(() => t.ctx.auth.throttle.reset());
  afterAll(async () => {
    await t?.close();
  });

  const me = (auth: string | null, headers: Record<string, string> = {}) => t.request('/api/v1/users/me', { auth, headers });

  test.each([
    ['Basic user:password', () => basic('alice', ALICE_PW), 'password'],
    ['Basic user:token, the form GOPROXY userinfo and .netrc produce', () => basic('alice', token), 'token'],
    ['Bearer token', () => `Bearer ${token}`, 'token'],
  ])('%s is accepted on the admin API and the go routes', async (_, auth) => {
    const res = await me(auth());
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ username: 'alice', isAdmin: false });
    const go = await t.request(LIST, { auth: auth() });
    expect([401, 403]).not.toContain(go.status);
  });

  test('a session cookie is accepted, and a state-changing request with it needs the CSRF token', async () => {
    const alice = await t.ctx.users.get('alice');
    const { secret, csrfToken } = await t.ctx.sessions.createSession(alice.id);
    const cookie = `orbit_session=${secret}`;
    expect((await me(null, { cookie })).status).toBe(200);
    const post = (headers: Record<string, string>) =>
      t.request('/api/v1/tokens', {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ name: 'ui' }),
      });
    expect((await post({})).status).toBe(403);
    expect((await post({ 'x-csrf-token': 'wrong' })).status).toBe(403);
    const ok = await post({ 'x-csrf-token': csrfToken });
    expect(ok.status).toBe(201);
    secrets.push((await ok.json()).token);
    await t.ctx.sessions.destroySession(secret);
    expect((await me(null, { cookie })).status).toBe(401);
  });

  // Browsers keep sending a stale cookie; public pages must keep working for them.
  test('an unknown session cookie counts as anonymous, not as bad credentials', async () => {
    const res = await me(null, { cookie: `orbit_session=${'x'.repeat(43)}` });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ message: 'this needs credentials' });
  });

  test.each([
    ['a wrong password', () => basic('alice', 'not-her-password')],
    ['an unknown user', () => basic('mallory', ALICE_PW)],
    ["someone else's token under another username", () => basic('bob', token)],
    ['an unknown token as Bearer', () => 'Bearer orb_0000000000000000000000000000000000000000000'],
    ['an unknown token as Basic', () => basic('alice', 'orb_0000000000000000000000000000000000000000000')],
    ['a Bearer that is not a token', () => `Bearer ${ALICE_PW}`],
    ['an unsupported scheme', () => 'Digest username="alice"'],
    ['Basic without a colon', () => `Basic ${Buffer.from('alice').toString('base64')}`],
  ])('%s is a 401, never anonymous access: a Basic challenge on /go/, a Bearer one on the admin API', async (_, auth) => {
    const res = await me(auth());
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="OrbitRepos"');
    const go = await t.request(LIST, { auth: auth() });
    expect(go.status).toBe(401);
    expect(go.headers.get('www-authenticate')).toContain('Basic realm="OrbitRepos"');
  });

  // A Basic challenge is what makes a browser prompt, then cache and replay the credentials (CSRF): not on the API.
  test('no credentials where they are needed is a 401: a Basic challenge on /go/, never on the admin API', async () => {
    const res = await me(null);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="OrbitRepos"');
    const go = await t.request(LIST);
    expect(go.status).toBe(401);
    expect(go.headers.get('www-authenticate')).toContain('Basic realm="OrbitRepos"');
    expect(await go.text()).toBe('repository "private" needs credentials\n');
  });

  test('an expired token is a 401 that says so', async () => {
    const { token: secret, id } = await (
      await t.api('POST', '/tokens', { name: 'soon', expiresAt: new Date(Date.now() + 60_000).toISOString() }, basic('alice', ALICE_PW))
    ).json();
    secrets.push(secret);
    expect((await me(`Bearer ${secret}`)).status).toBe(200);
    await t.ctx.db
      .update(apiTokens)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(apiTokens.id, id));
    // The row was changed behind the services' back, as no server would: tell the token cache, as they do.
    await t.ctx.invalidation.publish('token', String(id));
    const res = await me(`Bearer ${secret}`);
    expect(res.status).toBe(401);
    expect((await res.json()).message).toBe('API token "soon" is expired');
  });

  test('a token used through the API gets a lastUsedAt', async () => {
    await me(`Bearer ${token}`);
    const list = await (await t.api('GET', '/tokens', undefined, basic('alice', ALICE_PW))).json();
    expect(list.find((x: { id: number }) => x.id === tokenId).lastUsedAt).toBeString();
  });

  test('a disabled user is refused with a password and with a token, and works again when enabled', async () => {
    expect((await t.api('PATCH', '/users/alice', { disabled: true })).status).toBe(200);
    for (const auth of [basic('alice', ALICE_PW), basic('alice', token), `Bearer ${token}`]) {
      const res = await me(auth);
      expect(res.status).toBe(401);
      expect((await res.json()).message).toBe('user "alice" is disabled');
    }
    expect((await t.api('PATCH', '/users/alice', { disabled: false })).status).toBe(200);
    expect((await me(`Bearer ${token}`)).status).toBe(200);
  });

  describe('password verification cache', () => {
    const spies: { mockRestore(): void }[] = [];
    afterEach(() => {
      for (const s of spies.splice(0)) s.mockRestore();
    });

    // The go command sends the password on every request; argon2 on each would cost tens of ms apiece.
    test('repeated requests with the same password run argon2 once', async () => {
      await me(basic('bob', 'bob-password'));
      const spy = spyOn(Bun.password, 'verify');
      spies.push(spy);
      for (let i = 0; i < 5; i++) expect((await me(basic('bob', 'bob-password'))).status).toBe(200);
      expect(spy).toHaveBeenCalledTimes(0);
    });

    test('a password change takes effect at once despite the cache', async () => {
      expect((await me(basic('bob', 'bob-password'))).status).toBe(200);
      expect((await t.api('PATCH', '/users/bob', { password: 'bob-new-password' })).status).toBe(200);
      expect((await me(basic('bob', 'bob-password'))).status).toBe(401);
      expect((await me(basic('bob', 'bob-new-password'))).status).toBe(200);
    });
  });

  describe('throttling', () => {
    const as = (authorization: string, clientAddress: string) => t.ctx.auth.authenticate({ authorization, cookie: null, clientAddress });

    test('after five failures for a name from one address the next attempt there is a 429 with Retry-After, even with the right password', async () => {
      for (let i = 0; i < 5; i++) expect((await me(basic('alice', `guess-${i}`))).status).toBe(401);
      const res = await me(basic('alice', ALICE_PW));
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      const go = await t.request(LIST, { auth: basic('alice', ALICE_PW) });
      expect(go.status).toBe(429);
      expect(Number(go.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      // Behind a reverse proxy everyone shares one address: valid tokens keep working, and so do other names.
      expect((await me(`Bearer ${token}`)).status).toBe(200);
      expect((await me(basic('bob', 'bob-new-password'))).status).toBe(200);
    });

    // The lock-out the issue measured: 20 wrong passwords for a name from one address stopped its owner everywhere.
    test('an attacker guessing at one address cannot stop the owner signing in from another', async () => {
      for (let i = 0; i < 20; i++) {
        await expect(as(basic('alice', `guess-${i}`), '203.0.113.66')).rejects.toMatchObject({ status: expect.any(Number) });
      }
      await expect(as(basic('alice', ALICE_PW), '203.0.113.66')).rejects.toMatchObject({ status: 429 });
      expect(await as(basic('alice', ALICE_PW), '198.51.100.7')).toMatchObject({ kind: 'user', username: 'alice', via: 'password' });
      expect(await as(basic('alice', token), '203.0.113.66')).toMatchObject({ kind: 'user', username: 'alice', via: 'token' });
    });

    test('a success clears the count for that name at that address', async () => {
      for (let i = 0; i < 4; i++) await expect(as(basic('alice', `typo-${i}`), '198.51.100.8')).rejects.toMatchObject({ status: 401 });
      await as(basic('alice', ALICE_PW), '198.51.100.8');
      for (let i = 0; i < 4; i++) await expect(as(basic('alice', `typo2-${i}`), '198.51.100.8')).rejects.toMatchObject({ status: 401 });
      expect(await as(basic('alice', ALICE_PW), '198.51.100.8')).toMatchObject({ username: 'alice' });
    });

    test('the same wrong token sent again and again from one address counts once, and is never a 429', async () => {
      const mistyped = `${token.slice(0, -3)}xyz`;
      for (const auth of [basic('alice', mistyped), `Bearer ${mistyped}`]) {
        for (let i = 0; i < 12; i++) await expect(as(auth, '198.51.100.9')).rejects.toMatchObject({ status: 401 });
      }
      expect(t.ctx.auth.throttle.failures(signInKey('alice', '198.51.100.9'))).toBe(1);
      expect(t.ctx.auth.throttle.failures(signInKey(null, '198.51.100.9'))).toBe(1);
      expect(t.ctx.auth.throttle.failures(addressKey('198.51.100.9'))).toBe(2);
    });

    test('anonymous requests are not failures: the go command probes without credentials first', async () => {
      for (let i = 0; i < 10; i++) expect((await me(null)).status).toBe(401);
      expect(t.ctx.auth.throttle.failures(addressKey('local'))).toBe(0);
      expect((await me(basic('bob', 'bob-new-password'))).status).toBe(200);
    });
  });

  test('no secret was ever handed to the logger', () => {
    const all = log.lines.join('\n');
    expect(log.lines.some((l) => l.includes('sign-in failed'))).toBe(true);
    for (const s of secrets) expect(all).not.toContain(s);
    expect(all).not.toContain('bob-new-password');
    expect(all).not.toContain('guess-');
  });
});
