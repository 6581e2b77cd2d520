import type { Sql } from 'postgres';
import { ServiceUnavailable } from '../errors';

/**
 * A client-side deadline for postgres-js, which has no query timeout of its own. PostgreSQL's
 * statement_timeout ends a slow statement, but a database that is frozen (SIGSTOP, a hung host, a
 * network that drops packets) answers nothing at all, and without this every request would wait
 * for it forever. Here each statement, and each phase of a transaction (its start, its commit), is
 * given up on after `ms`: the caller gets a ServiceUnavailable (503 + Retry-After) in time.
 *
 * Giving up does not cancel: the statement may still run when the database wakes up, as with any
 * lost answer. The connection it holds is freed then; meanwhile the pool opens others.
 */
export class DatabaseTimeout extends ServiceUnavailable {
  constructor(ms: number) {
    super(`the database did not answer within ${ms} ms`);
  }
}

type Thenable<T> = PromiseLike<T> & { values?(): unknown };

/** `work`, or a DatabaseTimeout after `ms`: for the few calls that bypass drizzle (LISTEN, NOTIFY). */
export function withinDeadline<T>(work: PromiseLike<T>, ms: number): Promise<T> {
  let timer: Timer | undefined;
  return new Promise<T>((resolve, reject) => {
    timer = setTimeout(() => reject(new DatabaseTimeout(ms)), ms);
    work.then(resolve, reject);
  }).finally(() => clearTimeout(timer));
}

/**
 * The query drizzle builds: awaited directly, or after `.values()` (rows as arrays). The query is
 * lazy in postgres-js (it runs when awaited), so the timer starts at the await, queueing for a
 * connection included.
 */
function timedQuery<T>(query: Thenable<T>, ms: number): PromiseLike<T> & { values(): unknown } {
  const timed = {
    values() {
      query.values?.();
      return timed;
    },
    // biome-ignore lint/suspicious/noThenProperty: this object stands in for postgres-js's thenable query
    then<A = T, B = never>(onFulfilled?: ((v: T) => A | PromiseLike<A>) | null, onRejected?: ((e: unknown) => B | PromiseLike<B>) | null) {
      return withinDeadline(query, ms).then(onFulfilled, onRejected);
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
function timedTransaction(run: (...args: unknown[]) => Promise<unknown>, args: unknown[], ms: number): Promise<unknown> {
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
      return await body(withDeadline(tx, ms));
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

/** The same postgres-js client, with every statement drizzle sends bounded by `ms`. */
export function withDeadline(sql: Sql, ms: number): Sql {
  return new Proxy(sql, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop === 'unsafe') {
        return (...args: Parameters<Sql['unsafe']>) => timedQuery(target.unsafe(...args), ms);
      }
      if (prop === 'begin' || prop === 'savepoint') {
        return (...args: unknown[]) => timedTransaction((value as (...a: unknown[]) => Promise<unknown>).bind(target), args, ms);
      }
      return value;
    },
  });
}
