/**
 * An answer with how long a copy of it may be served. Proxies answer list and @latest from metadata rows
 * that expire (proxy-cache.ts): an in-memory copy must not outlive the row it was read from.
 */
export interface Expiring<T> {
  value: T;
  /** Milliseconds from now; Infinity: until a write invalidates it; 0: do not keep a copy. */
  freshForMs: number;
}

/** Readers whose list and @latest expire on their own (proxies, and groups over them). */
export interface ExpiringLists {
  listExpiring(module: string): Promise<Expiring<string[]>>;
  latestExpiring(module: string): Promise<Expiring<string>>;
}

export function hasExpiringLists(reader: object): reader is ExpiringLists {
  return typeof (reader as Partial<ExpiringLists>).listExpiring === 'function';
}

/** How long a NotFound may be remembered: a proxy's remembered upstream 404 says so; any other is the caller's call. */
export function notFoundFreshness(err: unknown): number | undefined {
  const ms = (err as { freshForMs?: unknown })?.freshForMs;
  return typeof ms === 'number' ? ms : undefined;
}
