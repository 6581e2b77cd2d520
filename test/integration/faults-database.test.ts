import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { Elysia } from 'elysia';
import postgres from 'postgres';
import { DatabaseTimeout } from '../../src/db/deadline';
import { type DatabaseHandle, DEADLINE_SLACK_MS, openDatabase } from '../../src/db/open';
import { toAppError } from '../../src/errors';
import { silentLogger } from '../../src/log';
import { createOrbitRepos, type OrbitRepos } from '../../src/plugin';
import { FsBlobStore } from '../../src/storage/fs-blob-store';
import { ADMIN_AUTH, ADMIN_PASSWORD } from '../support/app';
import { createTestDatabaseUrl } from '../support/db';
import { HANG_LIMIT_MS } from '../support/limits';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy';
import { buildModuleZip } from '../support/zipbuild';

const pgUrl = process.env.ORBITREPO_TEST_DATABASE_URL;
if (!pgUrl) console.warn('SKIPPED: database fault tests need PostgreSQL (ORBITREPO_TEST_DATABASE_URL)');

const CONNECT_MS = 1000;
const STATEMENT_MS = 1000;
/** The longest a request may take while the database is gone: a deadline, then answering. Generous on purpose. */
const ANSWER_BOUND_MS = CONNECT_MS + STATEMENT_MS + DEADLINE_SLACK_MS + 4000;
const MOD = 'example.com/faults/db';

// The machine's PostgreSQL is shared, so it is never stopped: a loopback proxy in front of it is frozen or cut instead.
describe.skipIf(!pgUrl)('PostgreSQL going away', () => {
  let db: { url: string; drop(): Promise<void> };
  let proxy: TcpProxy;
  let database: DatabaseHandle;
  let orbit: OrbitRepos;
  let app: Elysia;
  let storageDir: string;
  const request = (path: string, init: RequestInit = {}) => app.handle(new Request(`http://orbit.test${path}`, init));
  const list = () => request(`/go/db-faults/${MOD}/@v/list`);
  // A module never asked before: the answer must come from the database (a warm one may come from memory).
  let unasked = 0;
  const coldList = () => request(`/go/db-faults/${MOD}/n${++unasked}/@v/list`);
  const admin = () => request('/api/v1/repositories', { headers: { authorization: ADMIN_AUTH } });

  /** Sends n requests at once; each answer with the time it took. */
  async function burst(n: number, send: () => Promise<Response>) {
    return Promise.all(
      Array.from({ length: n }, async () => {
        const started = performance.now();
        const res = await send();
        const body = await res.text();
        return { status: res.status, retryAfter: res.headers.get('retry-after'), body, ms: performance.now() - started };
      }),
    );
  }

  /** After the database is back, requests succeed again within a few seconds (stuck connections drain or reopen). */
  async function recovers(send: () => Promise<Response>): Promise<number> {
    const started = performance.now();
    for (;;) {
      const res = await send();
      if (res.status === 200) return performance.now() - started;
      if (performance.now() - started > 30_000) throw new Error(`still ${res.status} 30 s after the database came back`);
      await Bun.sleep(200);
    }
  }

  beforeAll(async () => {
    db = await createTestDatabaseUrl();
    const real = new URL(db.url);
    proxy = startTcpProxy({ hostname: real.hostname, port: Number(real.port || 5432) });
    const proxied = new URL(db.url);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(proxy.port);
    database = await openDatabase({
      url: proxied.toString(),
      maxConnections: 4,
      connectTimeoutMs: CONNECT_MS,
      statementTimeoutMs: STATEMENT_MS,
    });
    storageDir = mkdtempSync(join(tmpdir(), 'orbit-dbfaults-'));
    orbit = await createOrbitRepos({
      database,
      storage: new FsBlobStore(storageDir),
      log: silentLogger,
      settings: { adminPassword: ADMIN_PASSWORD },
    });
    app = new Elysia().use(orbit.plugin) as unknown as Elysia;
    const created = await request('/api/v1/repositories', {
      method: 'POST',
      headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'db-faults', type: 'hosted', anonymousRead: true }),
    });
    expect(created.status).toBe(201);
    const zip = buildModuleZip(MOD, 'v1.0.0', { 'go.mod': `module ${MOD}\n`, 'a.go': 'package db\n' });
    const put = await request(`/go/db-faults/${MOD}/@v/v1.0.0.zip`, { method: 'PUT', headers: { authorization: ADMIN_AUTH }, body: zip });
    expect(put.status).toBe(201);
  }, HANG_LIMIT_MS);

  afterAll(async () => {
    proxy?.restore();
    await orbit?.close();
    await database?.close();
    proxy?.stop();
    await db?.drop();
    if (storageDir) rmSync(storageDir, { recursive: true, force: true });
    // Closing waits up to 5 s for connections the frozen database left hanging: more than the default hook limit.
  }, HANG_LIMIT_MS);

  test('while it is frozen, requests get 503 with Retry-After within the configured timeout, and succeed once it is back', async () => {
    expect((await list()).status).toBe(200);
    proxy.freeze();
    try {
      const answers = [...(await burst(8, coldList)), ...(await burst(4, admin))];
      for (const a of answers) {
        expect(a.status).toBe(503);
        expect(Number(a.retryAfter)).toBeGreaterThan(0);
        expect(a.ms).toBeLessThan(ANSWER_BOUND_MS);
      }
      const ready = await request('/ready');
      expect(ready.status).toBe(503);
      expect(JSON.stringify(await ready.json())).toContain('database');
    } finally {
      proxy.restore();
    }
    await recovers(list);
    expect(await (await list()).text()).toBe('v1.0.0\n');
  }, 90_000);

  test('while its connections are cut, requests get 503 quickly, and succeed once it is back', async () => {
    expect((await admin()).status).toBe(200);
    proxy.cut();
    try {
      for (const a of [...(await burst(8, coldList)), ...(await burst(4, admin))]) {
        expect(a.status).toBe(503);
        expect(a.retryAfter).not.toBeNull();
        expect(a.body).not.toContain('127.0.0.1');
        expect(a.ms).toBeLessThan(ANSWER_BOUND_MS);
      }
    } finally {
      proxy.restore();
    }
    await recovers(admin);
  }, 90_000);
});

// A statement the client gave up on used to run on in the server until it ended by itself.
describe.skipIf(!pgUrl)('a timed-out PostgreSQL statement is stopped on the server', () => {
  const TIMEOUT_MS = 500;
  let db: { url: string; drop(): Promise<void> };
  let database: DatabaseHandle;
  let observer: ReturnType<typeof postgres>;

  /** Statements of ours still running (or waiting on a lock) whose text contains `marker`, seen from another session. */
  const running = async (marker: string) => {
    const rows = await observer`
      select pid from pg_stat_activity
      where datname = current_database() and pid <> pg_backend_pid() and state = 'active' and query like ${`%${marker}%`}`;
    return rows.length;
  };
  /** Waits until none runs; how long that took, or Infinity after `boundMs`. */
  const goneWithin = async (marker: string, boundMs: number) => {
    const started = performance.now();
    while (performance.now() - started < boundMs) {
      if ((await running(marker)) === 0) return performance.now() - started;
      await Bun.sleep(100);
    }
    return Number.POSITIVE_INFINITY;
  };

  beforeAll(async () => {
    db = await createTestDatabaseUrl();
    database = await openDatabase({ url: db.url, maxConnections: 4, statementTimeoutMs: TIMEOUT_MS });
    observer = postgres(db.url, { max: 1, onnotice: () => {} });
    await observer`create table cancel_probe (id int primary key, n int not null)`;
    await observer`insert into cancel_probe values (1, 0)`;
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await observer?.end({ timeout: 5 });
    await database?.close();
    await db?.drop();
  });

  test(
    'a slow statement ends at statement_timeout with a 503-class error and no longer runs',
    async () => {
      const err = await database.db.execute(sql`select pg_sleep(30) /* probe-a */`).catch((e) => e);
      expect(toAppError(err).status).toBe(503);
      // Seconds, not the 30 the statement asked for.
      expect(await goneWithin('probe-a', 10_000)).toBeLessThan(10_000);
    },
    HANG_LIMIT_MS,
  );

  test(
    'a statement past the client deadline is cancelled on the server, not abandoned',
    async () => {
      // statement_timeout switched off for this transaction: only the client-side deadline can end it.
      const err = await database.db
        .transaction(async (tx) => {
          await tx.execute(sql`set local statement_timeout = 0`);
          await tx.execute(sql`select pg_sleep(30) /* probe-b */`);
        })
        .catch((e) => e);
      expect(toAppError(err)).toBeInstanceOf(DatabaseTimeout);
      expect(await goneWithin('probe-b', 10_000)).toBeLessThan(10_000);
    },
    HANG_LIMIT_MS,
  );

  test(
    'a statement waiting on a lock another connection holds gives up and stops waiting',
    async () => {
      const holder = postgres(db.url, { max: 1, onnotice: () => {} });
      try {
        const release = Promise.withResolvers<void>();
        const locked = Promise.withResolvers<void>();
        const holding = holder.begin(async (tx) => {
          await tx`select * from cancel_probe where id = 1 for update`;
          locked.resolve();
          await release.promise;
        });
        await locked.promise;
        const err = await database.db.execute(sql`update cancel_probe set n = n + 1 where id = 1 /* probe-c */`).catch((e) => e);
        expect(toAppError(err).status).toBe(503);
        expect(await goneWithin('probe-c', 10_000)).toBeLessThan(10_000);
        release.resolve();
        await holding;
        // The update did not happen later behind the lock.
        const [row] = await observer`select n from cancel_probe where id = 1`;
        expect(row.n).toBe(0);
      } finally {
        await holder.end({ timeout: 5 });
      }
    },
    HANG_LIMIT_MS,
  );
});
