import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test';
import { createTestDatabaseUrl } from '../support/db';
import { type ServerProcess, startServerProcess as startProcess } from '../support/server';

// Two servers on one port used to both log "listening" and take turns at the requests (SO_REUSEPORT by default).
describe('a second server on an occupied port', () => {
  let procs: ServerProcess[] = [];
  // PostgreSQL when there is one: a process on it starts in a second, where PGlite can take half a minute on a busy machine.
  let db: { url: string; drop(): Promise<void> } | undefined;
  beforeAll(async () => {
    if (process.env.ORBITREPO_TEST_DATABASE_URL) db = await createTestDatabaseUrl();
  });
  afterAll(async () => {
    await db?.drop();
  });
  const startServerProcess = (env: Record<string, string> = {}) =>
    startProcess({ ...(db ? { ORBITREPO_DATABASE_URL: db.url } : {}), ...env });
  afterEach(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    procs = [];
  });

  test('exits non-zero with one line naming the port and the setting, and the first keeps answering', async () => {
    const first = await startServerProcess();
    procs.push(first);
    const err = await startServerProcess({ ORBITREPO_PORT: String(first.port) }).then(
      (p) => (procs.push(p), undefined),
      (e: Error) => e,
    );
    expect(err?.message).toContain('exited with code 1');
    const lines = err!.message.split('\n').filter((l) => l.includes('cannot start'));
    expect(lines).toEqual([
      `cannot start: port ${first.port} on 127.0.0.1 is already in use by another process: stop it, choose another ORBITREPO_PORT, or set ORBITREPO_REUSE_PORT=true to share the port on purpose`,
    ]);
    expect((await fetch(`${first.url}/health`)).status).toBe(200);
  }, 90_000);

  test('starts beside the first when both ask for ORBITREPO_REUSE_PORT=true', async () => {
    const first = await startServerProcess({ ORBITREPO_REUSE_PORT: 'true' });
    procs.push(first);
    const second = await startServerProcess({ ORBITREPO_REUSE_PORT: 'true', ORBITREPO_PORT: String(first.port) });
    procs.push(second);
    expect(second.port).toBe(first.port);
    expect((await fetch(`${second.url}/health`)).status).toBe(200);
  }, 90_000);
});
