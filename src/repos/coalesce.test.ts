import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { openTestDatabase, type TestDatabase, testDatabaseKinds } from '../../test/support/db';
import { type DatabaseHandle, openDatabase } from '../db/open';
import { fetchLeases } from '../db/schema';
import { NotFound } from '../errors';
import { silentLogger } from '../log';
import { FetchCoalescer } from './coalesce';

const deferred = <T>() => {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
};

describe.each(testDatabaseKinds())('FetchCoalescer on %s', (kind) => {
  let t: TestDatabase;
  /** A second connection to the same database, as another server process would have (PGlite: the same one). */
  let other: DatabaseHandle;
  beforeAll(async () => {
    t = await openTestDatabase(kind);
    other = t.url ? await openDatabase({ url: t.url, maxConnections: 2 }) : t.handle;
  });
  afterAll(async () => {
    if (other !== t.handle) await other.close();
    await t.cleanup();
  });

  test('concurrent callers of one key share a single fill', async () => {
    const c = new FetchCoalescer(t.handle, silentLogger);
    const store = new Map<string, string>();
    let fills = 0;
    const gate = deferred<void>();
    const run = () =>
      c.run(
        'k1',
        async () => store.get('k1'),
        async () => {
          fills++;
          await gate.promise;
          store.set('k1', 'v');
          return 'v';
        },
      );
    const all = Array.from({ length: 20 }, run);
    await Bun.sleep(20);
    gate.resolve();
    expect(await Promise.all(all)).toEqual(Array(20).fill('v'));
    expect(fills).toBe(1);
    expect(c.inflightKeys).toEqual([]);
    await c.close();
  });

  test('an early answer reaches every caller of the fill in this process, before the fill ends; settled waits for the end', async () => {
    const c = new FetchCoalescer(t.handle, silentLogger);
    const store = new Map<string, string>();
    const gate = deferred<void>();
    let fills = 0;
    const share = () =>
      c.share<string, string>(
        'early:k',
        async () => store.get('early:k'),
        async (_signal, answer) => {
          fills++;
          answer('checked');
          await gate.promise;
          store.set('early:k', 'stored');
          return 'stored';
        },
      );
    const first = share();
    expect(await first.early).toBe('checked');
    // Joining while the fill still stores: the same early answer at once, and the same end.
    const joined = share();
    expect(await joined.early).toBe('checked');
    let settled = false;
    const settling = c.settled('early:').then(() => (settled = true));
    await Bun.sleep(20);
    expect(settled).toBe(false);
    expect(c.inflightKeys).toEqual(['early:k']);
    gate.resolve();
    await settling;
    expect(await Promise.all([first.done, joined.done])).toEqual(['stored', 'stored']);
    expect(fills).toBe(1);
    expect(c.inflightKeys).toEqual([]);
    // A fill that gives no early answer (found by its lookup here): early never resolves, done does.
    const found = share();
    expect(await Promise.race([found.early, found.done])).toBe('stored');
    await c.close();
  });

  test('close waits for fills still running (a fill storing what it answered must not outlive the database)', async () => {
    const c = new FetchCoalescer(t.handle, silentLogger);
    let ended = false;
    const { early, done } = c.share<string, string>(
      'closing:k',
      async () => undefined,
      async (signal, answer) => {
        answer('checked');
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        await Bun.sleep(20);
        ended = true;
        throw signal.reason;
      },
    );
    done.catch(() => {}); // aborted by close
    expect(await early).toBe('checked');
    await c.close();
    expect(ended).toBe(true);
  });

  // Embedded PGlite has one process: the lease rows and NOTIFYs would be three statements a fill for nothing.
  test('as the sole process on its database, concurrent callers share one fill and no lease row is written', async () => {
    const c = new FetchCoalescer(t.handle, silentLogger, { soleProcess: true });
    const seen: string[] = [];
    const stop = t.handle.observeQueries((operation) => seen.push(operation));
    let fills = 0;
    const gate = deferred<void>();
    let stored: string | undefined;
    const run = () =>
      c.run(
        'sole',
        async () => stored,
        async () => {
          fills++;
          await gate.promise;
          stored = 'v';
          return 'v';
        },
      );
    const all = Array.from({ length: 10 }, run);
    await Bun.sleep(20);
    gate.resolve();
    expect(await Promise.all(all)).toEqual(Array(10).fill('v'));
    stop();
    expect(fills).toBe(1);
    expect(seen).toEqual([]);
    expect(await t.handle.db.select().from(fetchLeases)).toEqual([]);
    await c.close();
  });

  test('two processes coalesce through the lease, and the waiter wakes on NOTIFY rather than the poll', async () => {
    const a = new FetchCoalescer(t.handle, silentLogger, { owner: 'proc-a' });
    const b = new FetchCoalescer(other, silentLogger, { owner: 'proc-b', pollMs: 10_000 });
    const store = new Map<string, string>();
    let fills = 0;
    const gate = deferred<void>();
    const fill = async () => {
      fills++;
      await gate.promise;
      store.set('k2', 'v2');
      return 'v2';
    };
    const first = a.run('k2', async () => store.get('k2'), fill);
    await Bun.sleep(50);
    const started = Date.now();
    const second = b.run('k2', async () => store.get('k2'), fill);
    await Bun.sleep(50);
    gate.resolve();
    expect(await Promise.all([first, second])).toEqual(['v2', 'v2']);
    expect(fills).toBe(1);
    expect(Date.now() - started).toBeLessThan(5_000);
    await Promise.all([a.close(), b.close()]);
  });

  test("a fill's failure reaches the waiters of this process and of another", async () => {
    const a = new FetchCoalescer(t.handle, silentLogger, { owner: 'proc-a' });
    const b = new FetchCoalescer(other, silentLogger, { owner: 'proc-b' });
    const gate = deferred<void>();
    const fill = async (): Promise<string> => {
      await gate.promise;
      throw new NotFound('upstream said 404');
    };
    const none = async () => undefined;
    const runs = [a.run('k3', none, fill), a.run('k3', none, fill)];
    await Bun.sleep(50);
    runs.push(b.run('k3', none, fill));
    await Bun.sleep(50);
    gate.resolve();
    for (const r of await Promise.allSettled(runs)) {
      expect(r.status).toBe('rejected');
      const reason = (r as PromiseRejectedResult).reason;
      expect(reason).toBeInstanceOf(NotFound);
      expect(reason.message).toBe('upstream said 404');
    }
    await Promise.all([a.close(), b.close()]);
  });

  test("a crashed holder's lease lapses and another process takes the key over", async () => {
    // A lease nobody renews: its holder died mid-fetch.
    await t.handle.db.insert(fetchLeases).values({ key: 'k4', owner: 'dead-process', expiresAt: new Date(Date.now() + 400) });
    const c = new FetchCoalescer(other, silentLogger, { owner: 'proc-b', pollMs: 50 });
    const started = Date.now();
    const got = await c.run(
      'k4',
      async () => undefined,
      async () => 'fetched by b',
    );
    expect(got).toBe('fetched by b');
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(await t.handle.db.select().from(fetchLeases)).toEqual([]);
    await c.close();
  });

  test('the holder renews its lease while a long fill runs, so nobody takes over', async () => {
    const a = new FetchCoalescer(t.handle, silentLogger, { owner: 'proc-a', leaseMs: 200, heartbeatMs: 50 });
    const b = new FetchCoalescer(other, silentLogger, { owner: 'proc-b', pollMs: 50 });
    const store = new Map<string, string>();
    let fills = 0;
    const fill = async () => {
      fills++;
      await Bun.sleep(700);
      store.set('k5', 'v5');
      return 'v5';
    };
    const first = a.run('k5', async () => store.get('k5'), fill);
    await Bun.sleep(30);
    const second = b.run('k5', async () => store.get('k5'), fill);
    expect(await Promise.all([first, second])).toEqual(['v5', 'v5']);
    expect(fills).toBe(1);
    await Promise.all([a.close(), b.close()]);
  });

  test('a result stored by another process before the lease was taken is not fetched again', async () => {
    const c = new FetchCoalescer(t.handle, silentLogger);
    let fills = 0;
    const got = await c.run(
      'k6',
      async () => 'already there',
      async () => {
        fills++;
        return 'fetched';
      },
    );
    expect(got).toBe('already there');
    expect(fills).toBe(0);
    await c.close();
  });
});
