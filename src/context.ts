import { AuditLog } from './audit';
import { AuthService } from './auth/auth-service';
import { CachedPermissionService } from './auth/cached-permissions';
import { CachedTokenService } from './auth/cached-tokens';
import { CachedUserService } from './auth/cached-users';
import type { PermissionService } from './auth/permissions';
import { SessionService } from './auth/sessions';
import type { TokenService } from './auth/tokens';
import type { UserService } from './auth/users';
import type { Caching } from './cache/caching';
import { InvalidationBus } from './cache/invalidation';
import { DEFAULT_CACHE_BYTES, LruCache } from './cache/lru';
import type { Database, DatabaseHandle } from './db/open';
import { BlobCollector } from './lifecycle/blob-gc';
import { CleanupService } from './lifecycle/cleanup';
import type { Logger } from './log';
import { type Metrics, noMetrics } from './observability/metrics';
import { VersionCache } from './repos/cached-repository';
import { CachedRepositoryService } from './repos/cached-repository-service';
import { FetchCoalescer } from './repos/coalesce';
import { DownloadRecorder } from './repos/download-stats';
import { resolveGosumdb } from './repos/gosumdb';
import { ModuleSearch, warnWithoutTrigramIndex } from './repos/module-search';
import { ModuleService } from './repos/module-service';
import { DEFAULT_FULL_GC_EVERY_BYTES } from './repos/periodic-full-gc';
import { RepositoryRegistry } from './repos/registry';
import type { RepositoryService } from './repos/repository-service';
import { TombstoneService } from './repos/tombstones';
import type { BlobStore } from './storage/blob-store';

/** Settings the plugin itself needs (a subset of the standalone Config). */
export interface PluginSettings {
  /** Password for the bootstrap admin user when it is first made; empty: "admin" (with a warning). */
  adminPassword?: string;
  /** Public base URL for snippets in the UI; empty: derived from each request. */
  publicUrl?: string;
  /** True when the server is reached over TLS: cookies get Secure. */
  secureCookies?: boolean;
  /** Seconds between storage lifecycle runs (blob collection, cleanup policies); empty: daily; 0: never on a schedule. */
  gcIntervalSeconds?: number;
  /** Seconds an unreferenced blob is spared after it was written; empty: 24 hours. */
  gcGraceSeconds?: number;
  /** How often staged leftovers of interrupted uploads and fills are swept; empty: hourly; 0: only at start. */
  sweepIntervalMs?: number;
  /** Staged blobs younger than this are never swept (they may be in use); empty: 6 hours. */
  stagedMaxAgeMs?: number;
  /** Memory budget of the in-memory caches, bytes; empty: 64 MiB; 0: no caching. */
  cacheBytes?: number;
  /** Uploads and proxy fills run a full collection every this many bytes (src/repos/periodic-full-gc.ts); empty: 16 MiB; 0: never. */
  fullGcEveryBytes?: number;
  /** The checksum database proxy repositories verify against (GOSUMDB syntax; "off": none); empty: the go command's. */
  gosumdb?: string;
}

/** Every service of one plugin instance. Two instances share nothing. */
export interface AppContext {
  /** Distinguishes plugin instances (Elysia deduplicates plugins by name + seed). */
  id: string;
  settings: PluginSettings;
  database: DatabaseHandle;
  db: Database;
  storage: BlobStore;
  log: Logger;
  /** Where routes and services report what they do (Prometheus, or nothing). */
  metrics: Metrics;
  audit: AuditLog;
  users: UserService;
  auth: AuthService;
  tokens: TokenService;
  sessions: SessionService;
  permissions: PermissionService;
  repositories: RepositoryService;
  /** Upstream fetches, one per key in this process and across processes on the same PostgreSQL. */
  coalescer: FetchCoalescer;
  registry: RepositoryRegistry;
  collector: BlobCollector;
  cleanup: CleanupService;
  /** What repositories store, for the admin API and the UI alike. */
  modules: ModuleService;
  /** Module paths across every repository a viewer may read (the UI's search, a group's page). */
  search: ModuleSearch;
  tombstones: TombstoneService;
  /** Zip download counts, written every few seconds; close() writes the rest. */
  downloads: DownloadRecorder;
  /** Stops what runs in the background (the coalescer's LISTEN and fills); the database and storage are the caller's. */
  close(): Promise<void>;
  /** The memory budget the caching decorators share; its stats() are the cache sizes. */
  cache: LruCache;
  /** Invalidates cached entries here and in every process on the same database; start() before serving. */
  invalidation: InvalidationBus;
}

let instances = 0;

/** Checksum databases whose missing verifier key this process has already warned about. */
const warnedWithoutKey = new Set<string>();

export function createContext(opts: {
  database: DatabaseHandle;
  storage: BlobStore;
  log: Logger;
  settings?: PluginSettings;
  metrics?: Metrics;
}): AppContext {
  const { database, storage, log } = opts;
  const metrics = opts.metrics ?? noMetrics;
  const db = database.db;
  const audit = new AuditLog(db, log);
  const invalidation = new InvalidationBus(database, log);
  const cache = new LruCache({ maxBytes: opts.settings?.cacheBytes ?? DEFAULT_CACHE_BYTES, active: () => invalidation.listening });
  const caching: Caching = { cache, bus: invalidation };
  const sessions = new SessionService(db);
  const users: UserService = new CachedUserService(db, log, audit, caching, sessions);
  const tokens: TokenService = new CachedTokenService(db, audit, caching);
  const repositories: RepositoryService = new CachedRepositoryService(db, audit, caching);
  // Embedded PGlite has one process by construction: no lease rows needed to coalesce across processes.
  const coalescer = new FetchCoalescer(database, log, { soleProcess: database.driver === 'pglite' });
  const downloads = new DownloadRecorder(db, log);
  const gosumdb = resolveGosumdb(opts.settings?.gosumdb);
  // Once per process and database: every plugin instance (each test's app) would otherwise say it again.
  if (gosumdb && !gosumdb.verifier && !warnedWithoutKey.has(gosumdb.name)) {
    warnedWithoutKey.add(gosumdb.name);
    log.warn(
      'checksum database given without a verifier key: proxy repositories compare fetched files with its records as served, without checking the signed tree head or inclusion proofs; give ORBITREPO_GOSUMDB as name+hash+key to verify them',
      { sumdb: gosumdb.name },
    );
  }
  // PGlite always has the index (db/open.ts loads pg_trgm); a PostgreSQL server may not offer the extension.
  if (database.driver === 'postgres') void warnWithoutTrigramIndex(db, log);
  const versions = new VersionCache(caching, metrics);
  const registry = new RepositoryRegistry(
    {
      db,
      storage,
      audit,
      log,
      metrics,
      repositories,
      coalescer,
      downloads,
      gosumdb,
      fullGcEveryBytes: opts.settings?.fullGcEveryBytes ?? DEFAULT_FULL_GC_EVERY_BYTES,
    },
    versions,
  );
  const modules = new ModuleService(db, storage, (row) => registry.instantiate(row));
  return {
    id: `orbitrepos-${++instances}`,
    settings: opts.settings ?? {},
    database,
    db,
    storage,
    log,
    metrics,
    audit,
    users,
    auth: new AuthService({ users, tokens, sessions, log }),
    tokens,
    sessions,
    permissions: new CachedPermissionService(db, audit, caching),
    repositories,
    coalescer,
    registry,
    collector: new BlobCollector({ database, db, storage, audit, log }),
    cleanup: new CleanupService({ db, modules, audit, log }),
    modules,
    search: new ModuleSearch(db, (groupId) => repositories.memberRows(groupId)),
    tombstones: new TombstoneService(db, audit, versions),
    cache,
    invalidation,
    downloads,
    close: async () => {
      await downloads.close();
      await coalescer.close();
      await invalidation.close();
    },
  };
}
