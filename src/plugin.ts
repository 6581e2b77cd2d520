import { join } from 'node:path';
import { Elysia } from 'elysia';
import type { Registry } from 'prom-client';
import { type Config, ConfigError, DEFAULT_SWEEP_INTERVAL_MS, loadConfig } from './config';
import { type AppContext, createContext, type PluginSettings } from './context';
import { type DatabaseHandle, openDatabase } from './db/open';
import { auditRoutes } from './http/admin/audit';
import { cleanupRoutes } from './http/admin/cleanup';
import { apiNotFoundRoutes } from './http/admin/controller';
import { maintenanceRoutes } from './http/admin/maintenance';
import { moduleRoutes } from './http/admin/modules';
import { openApiRoutes } from './http/admin/openapi';
import { permissionRoutes } from './http/admin/permissions';
import { repositoryRoutes } from './http/admin/repositories';
import { tokenRoutes } from './http/admin/tokens';
import { tombstoneRoutes } from './http/admin/tombstones';
import { userRoutes } from './http/admin/users';
import { goFastPath, goRoutes } from './http/go-routes';
import { healthRoutes } from './http/health';
import { metricsRoute } from './http/metrics-route';
import { RequestObserver, requestObservation } from './http/observe';
import type { AddressSource } from './http/request';
import { TrustedProxies } from './http/trusted-proxies';
import { uiRoutes } from './http/ui';
import { runLifecycle } from './lifecycle/run';
import { LifecycleSchedule } from './lifecycle/schedule';
import { createLogger, type Logger } from './log';
import { noMetrics } from './observability/metrics';
import { PrometheusMetrics } from './observability/prometheus';
import { requestLogContext } from './observability/request-scope';
import { timedBlobStore } from './observability/timed-storage';
import type { BlobStore } from './storage/blob-store';
import { openBlobStore } from './storage/open';
import { startStagedSweeper } from './storage/staged-sweeper';

export interface OrbitReposOptions {
  /** An open database (see openDatabase); the plugin never closes one it was given. Empty: opened from `config`. */
  database?: DatabaseHandle;
  /** A blob store (see openBlobStore). Empty: opened from `config`. */
  storage?: BlobStore;
  /**
   * The standalone server's configuration (see loadConfig), used for whatever is not passed in:
   * the database, the storage and the settings. Empty: read from the environment (ORBITREPO_*).
   */
  config?: Config;
  settings?: PluginSettings;
  /** Default: JSON lines on stdout (text on a terminal), at config's ORBITREPO_LOG_LEVEL / ORBITREPO_LOG_FORMAT. */
  log?: Logger;
  /** One line per request on `log` (request id, route, status, bytes, duration, cache outcome, user). Default: on, as ORBITREPO_ACCESS_LOG says. */
  accessLog?: boolean;
  /**
   * GET {prefix}/metrics in the Prometheus text format. `registry`: the host's prom-client Registry to put the
   * instruments on (default: one of the plugin's own, with process metrics); `token`: Bearer token the scraper
   * must send (default: none, or ORBITREPO_METRICS_TOKEN); `false`: no route and no instruments.
   * Default: on, as ORBITREPO_METRICS says.
   */
  metrics?: false | { registry?: Registry; token?: string };
  /**
   * Reverse proxies (CIDRs, IPv4 and IPv6) whose X-Forwarded-For names the client for logs, audit and sign-in
   * throttling. Default: ORBITREPO_TRUSTED_PROXIES when the plugin reads its config, else none.
   */
  trustedProxies?: string[];
  /** Mount prefix for every route, e.g. "/artifacts"; empty: the root. */
  prefix?: string;
  /** Each part can be switched off; all default to on. */
  goRoutes?: boolean;
  adminApi?: boolean;
  swagger?: boolean;
  ui?: boolean;
  health?: boolean;
}

export interface OrbitRepos {
  /** The Elysia plugin: `hostApp.use(orbit.plugin)`. */
  plugin: Elysia<any, any, any, any, any, any, any>;
  /**
   * GET and HEAD of `{prefix}/go/…` without Elysia's request lifecycle: the same answers, request ids, metrics
   * and access-log lines as the plugin's routes, at several times the rate. A host (and the standalone server)
   * calls it first from its Bun.serve `routes` entry for `{prefix}/go/*` and hands the request to the app
   * when it returns undefined. Empty when the Go routes are switched off.
   */
  goFastPath?: (request: Request, server: AddressSource | null | undefined) => Response | Promise<Response> | undefined;
  /** The services behind it, for hosts that want to call them directly. */
  context: AppContext;
  /** Closes what the plugin opened itself (a database it was given stays open). */
  close(): Promise<void>;
}

function normalisePrefix(prefix: string | undefined): string {
  if (!prefix || prefix === '/') return '';
  return `/${prefix.replace(/^\/+|\/+$/g, '')}`;
}

/**
 * Builds the OrbitRepos Elysia plugin over the given database and storage. Opens no port and installs
 * no process handlers: the host app owns its lifecycle. Makes the bootstrap admin user on first use.
 */
export async function createOrbitRepos(opts: OrbitReposOptions): Promise<OrbitRepos> {
  const prefix = normalisePrefix(opts.prefix);
  // The environment is read only for what the host did not hand over: a host with its own database and
  // storage is not stopped by an unrelated ORBITREPO_* value.
  const needsConfig = !opts.database || !opts.storage;
  const config = opts.config ?? (needsConfig ? loadConfig() : undefined);
  const log = opts.log ?? createLogger({ level: config?.logLevel, format: config?.logFormat, context: requestLogContext });
  const metricsOn = opts.metrics !== false && config?.metrics !== false;
  const prometheus = metricsOn ? new PrometheusMetrics({ registry: opts.metrics ? opts.metrics.registry : undefined }) : undefined;
  const metrics = prometheus ?? noMetrics;
  const ownsDatabase = !opts.database;
  const database =
    opts.database ??
    (await openDatabase({
      url: config!.databaseUrl,
      dataDir: config!.databaseUrl ? undefined : join(config!.dataDir, 'db'),
      connectTimeoutMs: config!.databaseConnectTimeoutMs,
      statementTimeoutMs: config!.databaseStatementTimeoutMs,
    }));
  const storage = timedBlobStore(opts.storage ?? (await openBlobStore(config!.storage)), metrics);
  const settings: PluginSettings =
    opts.settings ??
    (config
      ? {
          adminPassword: config.adminPasswordIsDefault ? undefined : config.adminPassword,
          publicUrl: config.publicUrl,
          secureCookies: !!config.tls,
          gcIntervalSeconds: config.gcIntervalSeconds,
          gcGraceSeconds: config.gcGraceSeconds,
          sweepIntervalMs: config.sweepIntervalMs,
          cacheBytes: config.cacheBytes,
          fullGcEveryBytes: config.fullGcEveryBytes,
          gosumdb: config.gosumdb,
        }
      : {});
  const ctx = createContext({ database, storage, log, settings, metrics });
  const unregisterCacheSize = metrics.registerCacheSize('memory', () => ctx.cache.bytes);
  const unregisterCacheRegions = metrics.registerCacheRegions(() => ctx.cache.stats().regions);
  const unobserveQueries = metricsOn ? database.observeQueries((op, seconds, ok) => metrics.databaseQuery(op, seconds, ok)) : undefined;
  const unregisterPool = metrics.registerDatabasePool(() => database.poolStats());
  // Caches store nothing until invalidations from other processes can be heard.
  await ctx.invalidation.start();
  await ctx.users.ensureBootstrapAdmin(settings.adminPassword || 'admin');
  // Leftovers of a process killed mid-upload or mid-fill; in the background, never delaying start-up.
  const sweeper = startStagedSweeper({
    store: storage,
    log,
    intervalMs: settings.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS,
    maxAgeMs: settings.stagedMaxAgeMs,
  });

  const schedule = new LifecycleSchedule((settings.gcIntervalSeconds ?? 86400) * 1000, () => runLifecycle(ctx, 'schedule'), log);
  schedule.start();

  const on = (flag: boolean | undefined) => flag !== false;
  let trustedProxies: TrustedProxies;
  try {
    trustedProxies = TrustedProxies.parse((opts.trustedProxies ?? config?.trustedProxies ?? []).join(','));
  } catch (err) {
    throw new ConfigError('ORBITREPO_TRUSTED_PROXIES', `must be comma-separated IP addresses or CIDR ranges; ${(err as Error).message}`);
  }
  // Typed loosely: each .use() below adds routes, and the variable holds every stage.
  const observation = {
    prefix,
    metrics,
    accessLog: (opts.accessLog ?? config?.accessLog) === false ? undefined : log,
    trustedProxies,
    seed: ctx.id,
  };
  const observer = new RequestObserver(observation);
  let app: Elysia<any, any, any, any, any, any, any> = new Elysia({ name: 'orbitrepos', seed: ctx.id, prefix }).use(
    requestObservation(observation, observer),
  );
  if (prometheus)
    app = app.use(
      metricsRoute(prometheus, { token: (opts.metrics ? opts.metrics.token : undefined) ?? config?.metricsToken, seed: ctx.id }),
    );
  if (on(opts.health)) app = app.use(healthRoutes(ctx));
  if (on(opts.goRoutes)) app = app.use(goRoutes(ctx));
  if (on(opts.adminApi)) {
    app = app.use(repositoryRoutes(ctx));
    app = app.use(permissionRoutes(ctx));
    app = app.use(userRoutes(ctx));
    app = app.use(tokenRoutes(ctx));
    app = app.use(moduleRoutes(ctx));
    app = app.use(maintenanceRoutes(ctx));
    app = app.use(tombstoneRoutes(ctx));
    app = app.use(cleanupRoutes(ctx));
    app = app.use(auditRoutes(ctx));
    app = app.use(apiNotFoundRoutes(ctx));
    if (on(opts.swagger)) app = app.use(openApiRoutes(ctx, prefix));
  }
  if (on(opts.ui)) app = app.use(uiRoutes(ctx, prefix));
  return {
    plugin: app,
    context: ctx,
    goFastPath: on(opts.goRoutes) ? goFastPath(ctx, observer, prefix) : undefined,
    async close() {
      unregisterCacheSize();
      unregisterCacheRegions();
      unobserveQueries?.();
      unregisterPool();
      await schedule.stop();
      // Background work first: the coalescer's LISTEN runs on the database, which may be the host's and stay open.
      await ctx.close();
      await sweeper.stop();
      if (ownsDatabase) await database.close();
    },
  };
}

/** Shorthand for hosts: `app.use(await orbitRepos({ database, storage }))`. */
export async function orbitRepos(opts: OrbitReposOptions) {
  return (await createOrbitRepos(opts)).plugin;
}

export { type Config, loadConfig } from './config';
export type { AppContext, PluginSettings } from './context';
export type { Database, DatabaseHandle } from './db/open';
export { openDatabase } from './db/open';
export type { Logger } from './log';
export type { CacheOutcome, Metrics, RouteKind } from './observability/metrics';
export type { ChecksumRelay, GoFile, GoRepository, ModulePublisher, ModuleReader, VersionRemover } from './repos/repository';
export type { BlobStore } from './storage/blob-store';
export { openBlobStore } from './storage/open';
