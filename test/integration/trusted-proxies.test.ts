import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { desc } from 'drizzle-orm';
import { auditLog } from '../../src/db/schema';
import { createLogger } from '../../src/log';
import { ADMIN_AUTH } from '../support/app';
import { memoryLog } from '../support/metrics';
import { startTestServer, type TestServer } from '../support/server';

// Only a real socket has a peer address, so these tests start the server and speak HTTP to it.
describe.each([
  ['behind a trusted proxy (127.0.0.1 is in ORBITREPO_TRUSTED_PROXIES)', '10.0.0.0/8, 127.0.0.1/32', '198.51.100.7'],
  ['with no trusted proxies, a spoofed X-Forwarded-For', '', '127.0.0.1'],
  ['from an address outside ORBITREPO_TRUSTED_PROXIES', '10.0.0.0/8, ::1', '127.0.0.1'],
])('%s', (_what, trusted, expectedClient) => {
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
});
