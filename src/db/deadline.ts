import type { Sql } from 'postgres';
import { ServiceUnavailable } from '../errors';

/**
 * A client-side deadline for postgres-js, which has no query timeout of its own. PostgreSQL's
 * statement_timeout ends a slow statement, but a database that is frozen (SIGSTOP, a hung host, a
 * network that drops packets) answers nothing at all, and without this every request would wait
 * for it forever. Here each statement, and each phase of a transaction (its start, its commit), is
 * given up on after `ms`: the caller gets a ServiceUnavailable (503 + Retry-After) in time.
 *
 * Giving up also cancels a statement already running on a backend: pg_cancel_backend, sent through the
 * pool (not the busy connection) and guarded by the statement's text (see cancel() below, and why
 * postgres-js's own cancel() is not used), so a database that is slow rather than gone stops the work
 * instead of finishing it for nobody. A frozen database gets the cancel when it wakes up, as it gets
 * everything else; a statement still queued for a connection is not cancelled, and runs or fails when
 * one opens. The server's own statement_timeout (open.ts) normally speaks first; this is the backstop.
 */
export class DatabaseTimeout extends ServiceUnavailable {
  constructor(ms: number) {
    super(`the database did not answer within ${ms} ms`);
  }
}

/** What postgres-js shows of a query: `state` is the backend's key once the query was sent on a connection. */
interface PgQuery<T> extends PromiseLike<T> {
  values?(): unknown;
  cancel?(): unknown;
  active?: boolean;
  state?: { pid?: number };
  strings?: readonly string[];
}
type Thenable<T> = PgQuery<T>;

/** Asks the server to cancel what backend `pid` is running, if it is still running `text`. */
export type CancelBackend = (pid: number, text: string) => Promise<unknown>;

/**
 * `work`, or a DatabaseTimeout after `ms`; for the few calls that bypass drizzle (LISTEN, NOTIFY) too.
 * Given `cancelBackend`, a postgres-js query that runs out of time is cancelled on the server.
 */
export function withinDeadline<T>(work: PgQuery<T>, ms: number, cancelBackend?: CancelBackend): Promise<T> {
  let timer: Timer | undefined;
  return new Promise<T>((resolve, reject) => {
    timer = setTimeout(() => {
      reject(new DatabaseTimeout(ms));
      if (cancelBackend) cancel(work, cancelBackend);
    }, ms);
    work.then(resolve, reject);
  }).finally(() => clearTimeout(timer));
}

/**
 * Stops a query we gave up on, when it is running: pg_cancel_backend over a pooled connection, guarded
 * by the statement's text so a backend that has moved on to another statement is left alone.
 * (postgres-js's own cancel() opens a bare socket whose late errors escape as unhandled when the
 * database is cut, and on a query still waiting for a connection it wedges that connection's
 * reconnects.) One still queued is left queued: it has not started, and runs or fails once a
 * connection opens.
 */
function cancel(work: PgQuery<unknown>, cancelBackend: CancelBackend): void {
  // The query's own rejection ("canceling statement due to user request") has nobody waiting for it.
  work.then(undefined, () => {});
  const pid = work.state?.pid;
  const text = work.strings?.[0];
  if (work.active && pid && text) cancelBackend(pid, text).catch(() => {});
}

/**
 * The query drizzle builds: awaited directly, or after `.values()` (rows as arrays). The query is
 * lazy in postgres-js (it runs when awaited), so the timer starts at the await, queueing for a
 * connection included.
 */
function timedQuery<T>(query: Thenable<T>, ms: number, cancelBackend: CancelBackend): PromiseLike<T> & { values(): unknown } {
  const timed = {
    values() {
      query.values?.();
      return timed;
    },
    // biome-ignore lint/suspicious/noThenProperty: this object stands in for postgres-js's thenable query
    then<A = T, B = never>(onFulfilled?: ((v: T) => A | PromiseLike<A>) | null, onRejected?: ((e: unknown) => B | PromiseLike<B>) | null) {
      return withinDeadline(query, ms, cancelBackend).then(onFulfilled, onRejected);
    },
  };
  return timed;
}

type TransactionBody = (tx: Sql) => unknown;

/**
 * begin() and savepoint(): the body's statements are timed through the wrapped client; the start
 * (a connection, BEGIN) and the end (COMMIT or ROLLBACK) each get their own deadline. A body that
 * failed on a deadline fails the whole transaction at once, without waiting for a ROLLBACK that a
 * frozen database would never acknowledge.
 */
function timedTransaction(
  run: (...args: unknown[]) => Promise<unknown>,
  args: unknown[],
  ms: number,
  cancelBackend: CancelBackend,
): Promise<unknown> {
  const body = args[args.length - 1] as TransactionBody;
  let giveUp!: (err: unknown) => void;
  const gaveUp = new Promise<never>((_, reject) => {
    giveUp = reject;
  });
  let startTimer: Timer | undefined = setTimeout(() => giveUp(new DatabaseTimeout(ms)), ms);
  let endTimer: Timer | undefined;
  const timedBody = async (tx: Sql) => {
    clearTimeout(startTimer);
    startTimer = undefined;
    try {
      return await body(withDeadline(tx, ms, cancelBackend));
    } catch (err) {
      if (err instanceof DatabaseTimeout) giveUp(err);
      throw err;
    } finally {
      endTimer = setTimeout(() => giveUp(new DatabaseTimeout(ms)), ms);
    }
  };
  const done = run(...args.slice(0, -1), timedBody);
  return Promise.race([done, gaveUp]).finally(() => {
    clearTimeout(startTimer);
    clearTimeout(endTimer);
    // Whatever the transaction ends with after we gave up, nobody is listening for it.
    done.catch(() => {});
  });
}

/**
 * The same postgres-js client, with every statement drizzle sends bounded by `ms` and cancelled on the
 * server past it. `cancelBackend` goes through the pool, never through a transaction's own connection
 * (busy with the very statement to cancel); empty: pg_cancel_backend on `sql`, which must be the pool.
 */
export function withDeadline(sql: Sql, ms: number, cancelBackend?: CancelBackend): Sql {
  const canceller: CancelBackend =
    cancelBackend ??
    ((pid, text) =>
      withinDeadline(
        sql`select pg_cancel_backend(pid) from pg_stat_activity where pid = ${pid} and state = 'active' and query = ${text}` as unknown as PgQuery<unknown>,
        ms,
      ));
  return new Proxy(sql, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop === 'unsafe') {
        return (...args: Parameters<Sql['unsafe']>) => timedQuery(target.unsafe(...args), ms, canceller);
      }
      if (prop === 'begin' || prop === 'savepoint') {
        return (...args: unknown[]) => timedTransaction((value as (...a: unknown[]) => Promise<unknown>).bind(target), args, ms, canceller);
      }
      return value;
    },
  });
}
