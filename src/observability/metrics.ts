/**
 * What the server reports about itself, as typed calls. Routes and services emit through this interface
 * only; src/observability/prometheus.ts turns the calls into Prometheus instruments. Services never see
 * prom-client or HTTP, and a test or a host can hand in its own implementation.
 */

/** What a request asked for, as the metrics group it: the go command's five reads, checksum relay, uploads, API, UI. */
export type RouteKind = 'list' | 'latest' | 'info' | 'mod' | 'zip' | 'sumdb' | 'upload' | 'api' | 'ui' | 'other';

/**
 * How a proxy repository answered: from its cache (hit), after fetching (miss), from an outdated copy because
 * the upstream failed or was slow (stale), from a remembered 404 (negative_hit), or by waiting on another
 * request's fetch of the same file (coalesced).
 */
export type CacheOutcome = 'hit' | 'miss' | 'stale' | 'negative_hit' | 'coalesced';

/** One upstream HTTP attempt: its status code, or why there was none (aborted: our timeout, or the server stopping). */
export type UpstreamResult = number | 'network_error' | 'aborted';

/** Why a proxied file was refused by the checksum check (src/repos/proxy.ts verifyChecksum). */
export type ChecksumRefusal = 'mismatch' | 'unknown_module';

export type FillKind = 'info' | 'mod' | 'zip';

/** What a database statement does, from its first word (src/db/query-timing.ts). */
export type DatabaseOperation = 'select' | 'insert' | 'update' | 'delete' | 'other';

export type StorageOperation = 'get' | 'head' | 'put' | 'move' | 'delete' | 'check';

/** One named region of the plugin's in-memory cache (token principals, repository rows, version answers, …) as it stands. */
export interface CacheRegionSize {
  name: string;
  bytes: number;
  entries: number;
}

export interface Metrics {
  /** One HTTP request answered: its route kind, status, seconds to the response head, and body bytes sent. */
  request(kind: RouteKind, status: number, seconds: number, bytes: number): void;
  /** A proxy repository answered from (or around) its cache. */
  cache(repository: string, outcome: CacheOutcome): void;
  /** One HTTP attempt to a proxy repository's upstream, with seconds to its response head. */
  upstream(repository: string, result: UpstreamResult, seconds: number): void;
  /** A proxy fill (fetch, check, store) begins; call the returned function once with its outcome. */
  fillStarted(repository: string, kind: FillKind): (outcome: { ok: boolean; bytes: number }) => void;
  /** A proxied file refused: its hash differs from the checksum database's record, or the database has no record of it. */
  checksumRefusal(repository: string, reason: ChecksumRefusal): void;
  /** One database statement, with its operation, seconds and whether it failed (a timeout included). */
  databaseQuery(operation: DatabaseOperation, seconds: number, ok: boolean): void;
  /**
   * The database pool reports itself, read at each scrape: statements in flight (waiting for a connection
   * included) and its connection limit. Returns the function that unregisters it.
   */
  registerDatabasePool(stats: () => { inFlight: number; maxConnections: number }): () => void;
  /** One blob-store operation, with its seconds. */
  storage(operation: StorageOperation, seconds: number, ok: boolean): void;
  /**
   * An in-memory cache reports its size in bytes, read at each scrape. Returns the function that unregisters it.
   * A later cache registers itself here: `metrics.registerCacheSize('tokens', () => cache.bytes)`.
   */
  registerCacheSize(name: string, bytes: () => number): () => void;
  /**
   * The plugin's in-memory cache reports each of its regions, read at each scrape (two plugin instances on
   * one registry: summed by region). Returns the function that unregisters it.
   */
  registerCacheRegions(regions: () => readonly CacheRegionSize[]): () => void;
}

const nothing = () => {};

/** Metrics switched off: every call does nothing. */
export const noMetrics: Metrics = {
  request: nothing,
  cache: nothing,
  upstream: nothing,
  fillStarted: () => nothing,
  checksumRefusal: nothing,
  databaseQuery: nothing,
  registerDatabasePool: () => nothing,
  storage: nothing,
  registerCacheSize: () => nothing,
  registerCacheRegions: () => nothing,
};
