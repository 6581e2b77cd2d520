import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type {
  CacheOutcome,
  CacheRegionSize,
  ChecksumRefusal,
  DatabaseOperation,
  FillKind,
  Metrics,
  RouteKind,
  StorageOperation,
  UpstreamResult,
} from './metrics';
import { RequestInstruments } from './request-instruments';

const SECONDS_HTTP = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const SECONDS_FILL = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900];
const SECONDS_FAST = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** The names every instrument gets, so docs, dashboards and tests name them once. */
export const METRIC_NAMES = {
  requests: 'orbitrepos_http_requests_total',
  requestSeconds: 'orbitrepos_http_request_duration_seconds',
  responseBytes: 'orbitrepos_http_response_bytes_total',
  cache: 'orbitrepos_cache_requests_total',
  upstreamRequests: 'orbitrepos_upstream_requests_total',
  upstreamErrors: 'orbitrepos_upstream_errors_total',
  upstreamSeconds: 'orbitrepos_upstream_request_duration_seconds',
  fillsInFlight: 'orbitrepos_fills_in_flight',
  fills: 'orbitrepos_fills_total',
  fillBytes: 'orbitrepos_fill_bytes_total',
  fillSeconds: 'orbitrepos_fill_duration_seconds',
  checksumRefusals: 'orbitrepos_checksum_refusals_total',
  cacheSize: 'orbitrepos_memory_cache_bytes',
  cacheRegionBytes: 'orbitrepos_memory_cache_region_bytes',
  cacheRegionEntries: 'orbitrepos_memory_cache_region_entries',
  databaseSeconds: 'orbitrepos_db_query_duration_seconds',
  databaseInFlight: 'orbitrepos_db_queries_in_flight',
  databaseMaxConnections: 'orbitrepos_db_pool_max_connections',
  storageSeconds: 'orbitrepos_storage_operation_duration_seconds',
} as const;

/** Upstream answers that are not failures: a 2xx/3xx, or "not here" (404/410), which the protocol expects. */
function isUpstreamError(result: UpstreamResult): boolean {
  return typeof result !== 'number' || (result >= 400 && result !== 404 && result !== 410);
}

/**
 * Metrics as Prometheus instruments on one registry: the plugin's own (with the process's default metrics)
 * or one a host app passes in, so its /metrics and ours can be one. Label values stay few: route kinds and
 * outcomes are fixed sets, repositories are as many as an administrator makes.
 */
export class PrometheusMetrics implements Metrics {
  readonly registry: Registry;
  private readonly requests: RequestInstruments;
  private readonly cacheOutcomes: Counter<'repository' | 'outcome'>;
  private readonly upstreamRequests: Counter<'repository' | 'status'>;
  private readonly upstreamErrors: Counter<'repository' | 'reason'>;
  private readonly upstreamSeconds: Histogram<'repository'>;
  private readonly fillsInFlight: Gauge<'repository'>;
  private readonly fills: Counter<'repository' | 'kind' | 'result'>;
  private readonly fillBytes: Counter<'repository' | 'kind'>;
  private readonly fillSeconds: Histogram<'kind'>;
  private readonly checksumRefusals: Counter<'repository' | 'reason'>;
  private readonly databaseSeconds: Histogram<'operation' | 'result'>;
  private databasePool?: () => { inFlight: number; maxConnections: number };
  private readonly storageSeconds: Histogram<'operation' | 'result'>;
  private readonly cacheSizes = new Map<string, () => number>();
  private readonly cacheRegions = new Set<() => readonly CacheRegionSize[]>();

  constructor(opts: { registry?: Registry } = {}) {
    this.registry = opts.registry ?? new Registry();
    // The process's CPU, memory and event-loop figures, unless the host's registry already has its own.
    if (!opts.registry) collectDefaultMetrics({ register: this.registry, prefix: 'orbitrepos_' });
    const registers = [this.registry];
    const n = METRIC_NAMES;
    this.requests = new RequestInstruments(this.registry, n, SECONDS_HTTP);
    this.cacheOutcomes = new Counter({
      name: n.cache,
      help: 'Proxy answers by cache outcome: hit, miss (fetched), stale (upstream failing or slow), negative_hit (remembered 404), coalesced (waited on another fetch)',
      labelNames: ['repository', 'outcome'],
      registers,
    });
    this.upstreamRequests = new Counter({
      name: n.upstreamRequests,
      help: 'HTTP attempts to proxy upstreams, by status code (or network_error, aborted)',
      labelNames: ['repository', 'status'],
      registers,
    });
    this.upstreamErrors = new Counter({
      name: n.upstreamErrors,
      help: 'Failed upstream attempts (not 404/410, which mean "not here"), by reason',
      labelNames: ['repository', 'reason'],
      registers,
    });
    this.upstreamSeconds = new Histogram({
      name: n.upstreamSeconds,
      help: 'Seconds from an upstream request to its response head',
      labelNames: ['repository'],
      buckets: SECONDS_HTTP,
      registers,
    });
    this.fillsInFlight = new Gauge({
      name: n.fillsInFlight,
      help: 'Proxy fills (fetch, check, store) running now in this process',
      labelNames: ['repository'],
      registers,
    });
    this.fills = new Counter({
      name: n.fills,
      help: 'Proxy fills finished, by file kind and result',
      labelNames: ['repository', 'kind', 'result'],
      registers,
    });
    this.fillBytes = new Counter({
      name: n.fillBytes,
      help: 'Bytes fetched and stored by proxy fills',
      labelNames: ['repository', 'kind'],
      registers,
    });
    this.fillSeconds = new Histogram({
      name: n.fillSeconds,
      help: 'Seconds a proxy fill took',
      labelNames: ['kind'],
      buckets: SECONDS_FILL,
      registers,
    });
    this.checksumRefusals = new Counter({
      name: n.checksumRefusals,
      help: 'Proxied files refused by the checksum check: mismatch (hash differs from the record) or unknown_module (no record)',
      labelNames: ['repository', 'reason'],
      registers,
    });
    const sizes = this.cacheSizes;
    new Gauge({
      name: n.cacheSize,
      help: 'Bytes held by each in-memory cache',
      labelNames: ['cache'],
      registers,
      collect() {
        this.reset();
        for (const [name, bytes] of sizes) this.set({ cache: name }, bytes());
      },
    });
    const regions = this.cacheRegions;
    const regionSizes = () => {
      const sum = new Map<string, { bytes: number; entries: number }>();
      for (const report of regions) {
        for (const r of report()) {
          const s = sum.get(r.name) ?? { bytes: 0, entries: 0 };
          s.bytes += r.bytes;
          s.entries += r.entries;
          sum.set(r.name, s);
        }
      }
      return sum;
    };
    // Two gauges read one report: each computes it, which is a walk over a handful of regions.
    new Gauge({
      name: n.cacheRegionBytes,
      help: 'Bytes held by each region of the in-memory cache (estimated sizes, as the cache budget counts them)',
      labelNames: ['region'],
      registers,
      collect() {
        this.reset();
        for (const [region, s] of regionSizes()) this.set({ region }, s.bytes);
      },
    });
    new Gauge({
      name: n.cacheRegionEntries,
      help: 'Entries held by each region of the in-memory cache',
      labelNames: ['region'],
      registers,
      collect() {
        this.reset();
        for (const [region, s] of regionSizes()) this.set({ region }, s.entries);
      },
    });
    this.databaseSeconds = new Histogram({
      name: n.databaseSeconds,
      help: 'Seconds per database statement (waiting for a pool connection included), by operation and result (error: failed or timed out)',
      labelNames: ['operation', 'result'],
      buckets: SECONDS_FAST,
      registers,
    });
    const pool = () => this.databasePool?.();
    new Gauge({
      name: n.databaseInFlight,
      help: 'Database statements sent and not yet answered; at the pool limit, further statements queue',
      registers,
      collect() {
        const stats = pool();
        if (stats) this.set(stats.inFlight);
      },
    });
    new Gauge({
      name: n.databaseMaxConnections,
      help: 'The most connections the database pool opens (1 for the embedded PGlite)',
      registers,
      collect() {
        const stats = pool();
        if (stats) this.set(stats.maxConnections);
      },
    });
    this.storageSeconds = new Histogram({
      name: n.storageSeconds,
      help: 'Seconds per blob-store operation (a get until its stream is ready)',
      labelNames: ['operation', 'result'],
      buckets: SECONDS_FAST,
      registers,
    });
  }

  request(kind: RouteKind, status: number, seconds: number, bytes: number): void {
    this.requests.observe(kind, status, seconds, bytes);
  }

  cache(repository: string, outcome: CacheOutcome): void {
    this.cacheOutcomes.inc({ repository, outcome });
  }

  upstream(repository: string, result: UpstreamResult, seconds: number): void {
    this.upstreamRequests.inc({ repository, status: String(result) });
    this.upstreamSeconds.observe({ repository }, seconds);
    if (isUpstreamError(result)) {
      const reason = typeof result === 'number' ? (result >= 500 ? '5xx' : String(result)) : result;
      this.upstreamErrors.inc({ repository, reason });
    }
  }

  fillStarted(repository: string, kind: FillKind) {
    const t0 = performance.now();
    this.fillsInFlight.inc({ repository });
    let ended = false;
    return ({ ok, bytes }: { ok: boolean; bytes: number }) => {
      if (ended) return;
      ended = true;
      this.fillsInFlight.dec({ repository });
      this.fills.inc({ repository, kind, result: ok ? 'ok' : 'error' });
      if (bytes > 0) this.fillBytes.inc({ repository, kind }, bytes);
      this.fillSeconds.observe({ kind }, (performance.now() - t0) / 1000);
    };
  }

  checksumRefusal(repository: string, reason: ChecksumRefusal): void {
    this.checksumRefusals.inc({ repository, reason });
  }

  databaseQuery(operation: DatabaseOperation, seconds: number, ok: boolean): void {
    this.databaseSeconds.observe({ operation, result: ok ? 'ok' : 'error' }, seconds);
  }

  registerDatabasePool(stats: () => { inFlight: number; maxConnections: number }): () => void {
    this.databasePool = stats;
    return () => {
      if (this.databasePool === stats) this.databasePool = undefined;
    };
  }

  storage(operation: StorageOperation, seconds: number, ok: boolean): void {
    this.storageSeconds.observe({ operation, result: ok ? 'ok' : 'error' }, seconds);
  }

  registerCacheSize(name: string, bytes: () => number): () => void {
    this.cacheSizes.set(name, bytes);
    return () => {
      if (this.cacheSizes.get(name) === bytes) this.cacheSizes.delete(name);
    };
  }

  registerCacheRegions(report: () => readonly CacheRegionSize[]): () => void {
    // Wrapped, so that the same function registered twice (two instances) is counted twice and unregistered once.
    const entry = () => report();
    this.cacheRegions.add(entry);
    return () => {
      this.cacheRegions.delete(entry);
    };
  }

  /** The exposition text and its content type, for GET /metrics. */
  async scrape(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}
