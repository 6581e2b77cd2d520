import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { desc } from 'drizzle-orm';
import { addressKey, signInKey } from '../../src/auth/throttle';
import { auditLog } from '../../src/db/schema';
import { createLogger } from '../../src/log';
import { ADMIN_AUTH, basic } from '../support/app';
import { memoryLog } from '../support/metrics';
import { startTestServer, type TestServer } from '../support/server';

// Only a real socket has a peer address, so these tests start the server and speak HTTP to it.
describe.each([
  ['behind a trusted proxy (127.0.0.1 is in ORBITREPO_TRUSTED_PROXIES)', '10.0.0.0/8, 127.0.0.1/32', '198.51.100.7'],
  ['with no trusted proxies, a spoofed X-Forwarded-For', '', '127.0.0.1'],
  ['from an address outside ORBITREPO_TRUSTED_PROXIES', '10.0.0.0/8, ::1', '127.0.0.1'],
])('%s', (_what, trusted, expectedClient) => {
  const forwardedHonoured = expectedClient !== '127.0.0.1';
  const log = memoryLog();
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      env: trusted ? { ORBITREPO_TRUSTED_PROXIES: trusted } : {},
      log: createLogger({ format: 'json', destination: log.destination }),
    });
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });

  test(`the client address in the access log and the audit log is ${expectedClient}`, async () => {
    const name = `xff-${Math.random().toString(36).slice(2, 8)}`;
    const res = await fetch(`${server.url}/api/v1/repositories`, {
      method: 'POST',
      headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json', 'x-forwarded-for': '6.6.6.6, 198.51.100.7' },
      body: JSON.stringify({ name, type: 'hosted' }),
    });
    expect(res.status).toBe(201);
    await res.arrayBuffer();
    const line = log.requests().find((l) => l.method === 'POST');
    expect(line?.client).toBe(expectedClient);
    const [entry] = await server.ctx.db.select().from(auditLog).orderBy(desc(auditLog.id)).limit(1);
    expect(entry).toMatchObject({ action: 'repository.create', repository: name, clientAddress: expectedClient });
  });

  // Without this, everyone behind the proxy shares its address: one guesser would lock the owner out,
  // and if the header were believed from anyone, a guesser could rotate it to never be slowed.
  test(`sign-in throttling counts by ${forwardedHonoured ? 'the forwarded client' : 'the peer, whatever X-Forwarded-For says'}`, async () => {
    const owner = `owner-${Math.random().toString(36).slice(2, 8)}`;
    const created = await fetch(`${server.url}/api/v1/users`, {
      method: 'POST',
      headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ username: owner, password: 'owner-password' }),
    });
    expect(created.status).toBe(201);
    await created.arrayBuffer();
    const me = async (password: string, forwardedFor: string) => {
      const res = await fetch(`${server.url}/api/v1/users/me`, {
        headers: { authorization: basic(owner, password), 'x-forwarded-for': forwardedFor },
      });
      await res.arrayBuffer();
      return res;
    };
    // Client A: each guess under a new forged left-most hop, as if a trusted proxy had appended A.
    const clientA = '203.0.113.66';
    const clientB = '198.51.100.7';
    for (let i = 0; i < 5; i++) expect((await me(`guess-${i}`, `192.0.2.${i + 1}, ${clientA}`)).status).toBe(401);
    const throttled = await me('owner-password', `192.0.2.99, ${clientA}`);
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

    const counted = forwardedHonoured ? clientA : '127.0.0.1';
    const throttle = server.ctx.auth.throttle;
    expect(throttle.failures(signInKey(owner, counted))).toBe(5);
    expect(throttle.failures(addressKey(counted))).toBe(5);
    for (let i = 0; i < 5; i++) expect(throttle.failures(addressKey(`192.0.2.${i + 1}`))).toBe(0);

    const fromB = await me('owner-password', clientB);
    if (forwardedHonoured) {
      // The owner behind the same proxy is another client: not held up by A's guesses.
      expect(fromB.status).toBe(200);
      expect(throttle.failures(addressKey('127.0.0.1'))).toBe(0);
    } else {
      // An untrusted peer's header is ignored, so B is the same peer as A and waits too.
      expect(fromB.status).toBe(429);
      expect(Number(fromB.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
  });
});
