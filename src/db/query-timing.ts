/**
 * Times every statement drizzle sends, by wrapping the driver client it is given (drizzle has no timing hook of
 * its own). Observers come and go (each plugin instance over a database adds one); with none, nothing is timed.
 */
export type QueryObserver = (seconds: number, ok: boolean) => void;

export class QueryObservers {
  private readonly observers = new Set<QueryObserver>();

  add(observer: QueryObserver): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  get empty(): boolean {
    return this.observers.size === 0;
  }

  emit(seconds: number, ok: boolean): void {
    for (const o of this.observers) o(seconds, ok);
  }
}

const since = (t0: number) => (performance.now() - t0) / 1000;

/** Runs a promise-returning call and reports its time; the result or error passes through untouched. */
async function timed<T>(observers: QueryObservers, run: () => Promise<T>): Promise<T> {
  if (observers.empty) return run();
  const t0 = performance.now();
  try {
    const result = await run();
    observers.emit(since(t0), true);
    return result;
  } catch (err) {
    observers.emit(since(t0), false);
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
          const t0 = performance.now();
          const then = query.then;
          let reported = false;
          const report = (ok: boolean) => {
            if (reported) return;
            reported = true;
            observers.emit(since(t0), ok);
          };
          // The query object is returned as it is (drizzle calls .values() on it); only its settling is observed.
          // biome-ignore lint/suspicious/noThenProperty: the query is a thenable already; this wraps its own then
          query.then = function (this: unknown, onFulfilled?: AnyFn | null, onRejected?: AnyFn | null) {
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
        return (...args: unknown[]) => timed(observers, () => (value as AnyFn).apply(target, args) as Promise<unknown>);
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
