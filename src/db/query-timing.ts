/**
 * Times every statement drizzle sends, by wrapping the driver client it is given (drizzle has no timing hook of
 * its own). Observers come and go (each plugin instance over a database adds one); with none, nothing is timed.
 */

/** What a statement does, read from its first word: few values, so a metric label stays small. */
export type QueryOperation = 'select' | 'insert' | 'update' | 'delete' | 'other';

export type QueryObserver = (operation: QueryOperation, seconds: number, ok: boolean) => void;

const OPERATIONS = new Set<string>(['select', 'insert', 'update', 'delete']);

/** The statement's kind from its text: "select …" is a select; a CTE, DDL and the rest are "other". */
export function queryOperation(text: unknown): QueryOperation {
  if (typeof text !== 'string') return 'other';
  const word = /^\s*\(?\s*([a-z]+)/i.exec(text)?.[1]?.toLowerCase() ?? '';
  return OPERATIONS.has(word) ? (word as QueryOperation) : 'other';
}

export class QueryObservers {
  private readonly observers = new Set<QueryObserver>();
  private running = 0;

  add(observer: QueryObserver): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  get empty(): boolean {
    return this.observers.size === 0;
  }

  /** Statements sent and not yet answered (queued for a connection included). */
  get inFlight(): number {
    return this.running;
  }

  started(): void {
    this.running++;
  }

  emit(operation: QueryOperation, seconds: number, ok: boolean): void {
    this.running--;
    for (const o of this.observers) o(operation, seconds, ok);
  }
}

const since = (t0: number) => (performance.now() - t0) / 1000;

/** Runs a promise-returning call and reports its time; the result or error passes through untouched. */
async function timed<T>(observers: QueryObservers, operation: QueryOperation, run: () => Promise<T>): Promise<T> {
  if (observers.empty) return run();
  const t0 = performance.now();
  observers.started();
  try {
    const result = await run();
    observers.emit(operation, since(t0), true);
    return result;
  } catch (err) {
    observers.emit(operation, since(t0), false);
    throw err;
  }
}

type AnyFn = (...args: unknown[]) => unknown;

/** Replaces a transaction callback (the last argument) by one that hands the callback a wrapped client. */
function wrapCallback(args: unknown[], wrap: (client: object) => object): unknown[] {
  const last = args.length - 1;
  const fn = args[last];
  if (typeof fn === 'function') args[last] = (client: object) => (fn as AnyFn)(wrap(client));
  return args;
}

/**
 * postgres-js: drizzle runs every statement through `unsafe()`, whose query starts when it is awaited; a
 * transaction's statements go through the client handed to `begin()` / `savepoint()` callbacks.
 */
export function timedPostgresClient<T extends object>(sql: T, observers: QueryObservers): T {
  return new Proxy(sql, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      if (prop === 'unsafe') {
        return (...args: unknown[]) => {
          const query = (value as AnyFn).apply(target, args) as { then: (...a: never[]) => unknown };
          if (observers.empty) return query;
          const operation = queryOperation(args[0]);
          // postgres-js starts the statement when it is awaited: the clock starts there, queueing for a connection included.
          let t0 = 0;
          const then = query.then;
          let reported = false;
          const report = (ok: boolean) => {
            if (reported) return;
            reported = true;
            observers.emit(operation, since(t0), ok);
          };
          // The query object is returned as it is (drizzle calls .values() on it); only its settling is observed.
          // biome-ignore lint/suspicious/noThenProperty: the query is a thenable already; this wraps its own then
          query.then = function (this: unknown, onFulfilled?: AnyFn | null, onRejected?: AnyFn | null) {
            if (t0 === 0) {
              t0 = performance.now();
              observers.started();
            }
            return (then as AnyFn).call(
              this,
              (v: unknown) => {
                report(true);
                return onFulfilled ? onFulfilled(v) : v;
              },
              (e: unknown) => {
                report(false);
                if (onRejected) return onRejected(e);
                throw e;
              },
            );
          };
          return query;
        };
      }
      if (prop === 'begin' || prop === 'savepoint') {
        return (...args: unknown[]) =>
          (value as AnyFn).apply(
            target,
            wrapCallback(args, (tx) => timedPostgresClient(tx, observers)),
          );
      }
      return (value as AnyFn).bind(target);
    },
  });
}

/** PGlite: drizzle calls `query()` (and `exec()`); a transaction's statements go through the callback's client. */
export function timedPgliteClient<T extends object>(client: T, observers: QueryObservers): T {
  return new Proxy(client, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      if (prop === 'query' || prop === 'exec') {
        return (...args: unknown[]) =>
          timed(observers, queryOperation(args[0]), () => (value as AnyFn).apply(target, args) as Promise<unknown>);
      }
      if (prop === 'transaction') {
        return (...args: unknown[]) =>
          (value as AnyFn).apply(
            target,
            wrapCallback(args, (tx) => timedPgliteClient(tx, observers)),
          );
      }
      return (value as AnyFn).bind(target);
    },
  });
}
