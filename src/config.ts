import { accessSync, constants } from 'node:fs';
import { join, resolve } from 'node:path';

export interface S3Config {
  bucket: string;
  /** Empty: the AWS default endpoint for the region. Set for MinIO, s3rver, R2, … */
  endpoint?: string;
  region: string;
  /** Empty: the AWS SDK's default credential chain. */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Path-style URLs (bucket in the path); most S3-compatible servers need it. */
  forcePathStyle: boolean;
  /** Prefix under which every key is stored; empty: the bucket root. */
  prefix: string;
  /** How long one write request (a part, a small object, completing an upload) may take; empty: 30 s. */
  writeTimeoutMs?: number;
}

export interface StorageConfig {
  type: 'filesystem' | 's3';
  /** Filesystem root; used when type is filesystem. */
  path: string;
  s3?: S3Config;
}

export interface Config {
  host: string;
  port: number;
  /** Root for the embedded database and the default filesystem storage. */
  dataDir: string;
  /** Empty: embedded PGlite under dataDir/db. A postgres:// URL: PostgreSQL through postgres-js. */
  databaseUrl?: string;
  storage: StorageConfig;
  /** Both set: serve HTTPS. Neither: plain HTTP. */
  tls?: { certFile: string; keyFile: string };
  /** Password of the bootstrap `admin` user, applied only when that user is first made. */
  adminPassword: string;
  /** True when adminPassword came from the default, so start-up warns. */
  adminPasswordIsDefault: boolean;
  /** Public base URL shown in the UI and snippets; empty: derived from each request. */
  publicUrl?: string;
  /**
   * True: listen with SO_REUSEPORT, so several processes can share the port on purpose. False (the
   * default): a port another process holds stops start-up with one line, instead of two servers
   * silently taking turns at the requests.
   */
  reusePort: boolean;
  /** PostgreSQL only: how long opening a connection may take before requests get 503. */
  databaseConnectTimeoutMs: number;
  /**
   * PostgreSQL only: how long one statement may run (the server's statement_timeout) and, with a
   * little slack, how long the server waits for any answer (a frozen database does not answer at all).
   */
  databaseStatementTimeoutMs: number;
  /** How often staged leftovers of interrupted uploads and fills are swept while running (also once at start). */
  sweepIntervalMs: number;
  /** Seconds between storage lifecycle runs (blob collection, cleanup policies); 0: never on a schedule. */
  gcIntervalSeconds: number;
  /** Seconds an unreferenced blob is spared after it was written. */
  gcGraceSeconds: number;
  /** Uploads and proxy fills run a full garbage collection every this many bytes (ORBITREPO_FULL_GC_EVERY_MIB); 0: never. */
  fullGcEveryBytes: number;
  /** Memory budget of the in-memory caches (tokens, users, repositories, grants, …), bytes; 0: no caching. */
  cacheBytes: number;
  /** Lines below this level are not written (`info` includes the access log). */
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** json or text; empty: text when stdout is a terminal, else json. */
  logFormat?: 'json' | 'text';
  /** One access-log line per request, at info level (ORBITREPO_ACCESS_LOG); off for a deployment whose load balancer logs requests already. */
  accessLog: boolean;
  /** Serve GET /metrics (Prometheus text format). */
  metrics: boolean;
  /** Empty: /metrics is open to whoever reaches it. Set: it needs `Authorization: Bearer <token>`. */
  metricsToken?: string;
  /**
   * Reverse proxies (CIDRs or addresses) whose X-Forwarded-For names the client for logs, audit and sign-in
   * throttling. Empty: the peer's address is the client's, and X-Forwarded-For is ignored.
   */
  trustedProxies: string[];
  /** ORBITREPO_GOSUMDB as given (GOSUMDB syntax, or "off"); unset: the go command's own (src/repos/gosumdb.ts). */
  gosumdb?: string;
}

/** A few seconds: a database that has not answered by then is down for the client's purposes; it retries on 503. */
export const DEFAULT_DB_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_DB_STATEMENT_TIMEOUT_MS = 5_000;
/** Hourly: a killed 500 MiB upload does not hold its disk space for days, and a sweep is one listing of tmp/. */
export const DEFAULT_SWEEP_INTERVAL_MS = 60 * 60 * 1000;

/** ORBITREPO_CACHE_BYTES's default: 64 MiB. */
export const DEFAULT_CACHE_BYTES = 64 * 1024 * 1024;

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function str(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function int(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = str(env, name);
  if (raw === undefined) return def;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(name, `must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return Number(raw);
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Seconds, given as a whole number of seconds or with a unit: "90", "30m", "24h", "7d". */
function duration(env: Env, name: string, def: number): number {
  const raw = str(env, name);
  if (raw === undefined) return def;
  const m = /^(\d+)([smhd]?)$/.exec(raw);
  if (!m) throw new ConfigError(name, `must be a duration such as 3600, 30m, 24h or 7d (0 disables), got "${raw}"`);
  return Number(m[1]) * UNIT_SECONDS[m[2] || 's'];
}

function bool(env: Env, name: string, def: boolean): boolean {
  const raw = str(env, name);
  if (raw === undefined) return def;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(name, `must be true or false, got "${raw}"`);
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], def: T): T {
  const raw = str(env, name);
  if (raw === undefined) return def;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

function url(env: Env, name: string, protocols: string[]): string | undefined {
  const raw = str(env, name);
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, `must be a URL (${protocols.join(' or ')}), got an unparsable value`);
  }
  if (!protocols.includes(parsed.protocol.replace(/:$/, ''))) {
    throw new ConfigError(name, `must be a ${protocols.join(' or ')} URL`);
  }
  return raw;
}

/** A PEM file named by a variable must be there and readable now, not fail later inside Bun's listen. */
function readableFile(name: string, file: string): void {
  try {
    accessSync(file, constants.R_OK);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'is not readable';
    throw new ConfigError(name, `must name a readable PEM file; ${resolve(file)} ${why}`);
  }
}

/** Reads the environment into one validated Config; throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const host = str(env, 'ORBITREPO_HOST') ?? '0.0.0.0';
  const port = int(env, 'ORBITREPO_PORT', 8080, 0, 65535);
  const dataDir = resolve(str(env, 'ORBITREPO_DATA_DIR') ?? './data');
  const databaseUrl = url(env, 'ORBITREPO_DATABASE_URL', ['postgres', 'postgresql']);
  const storageType = oneOf(env, 'ORBITREPO_STORAGE_TYPE', ['filesystem', 's3'] as const, 'filesystem');
  const storagePath = resolve(str(env, 'ORBITREPO_STORAGE_PATH') ?? join(dataDir, 'storage'));

  let s3: S3Config | undefined;
  if (storageType === 's3') {
    const bucket = str(env, 'ORBITREPO_S3_BUCKET');
    if (!bucket) throw new ConfigError('ORBITREPO_S3_BUCKET', 'is required when ORBITREPO_STORAGE_TYPE=s3');
    const accessKeyId = str(env, 'ORBITREPO_S3_ACCESS_KEY_ID');
    const secretAccessKey = str(env, 'ORBITREPO_S3_SECRET_ACCESS_KEY');
    if (!!accessKeyId !== !!secretAccessKey) {
      throw new ConfigError(
        accessKeyId ? 'ORBITREPO_S3_SECRET_ACCESS_KEY' : 'ORBITREPO_S3_ACCESS_KEY_ID',
        'ORBITREPO_S3_ACCESS_KEY_ID and ORBITREPO_S3_SECRET_ACCESS_KEY must be set together',
      );
    }
    s3 = {
      bucket,
      endpoint: url(env, 'ORBITREPO_S3_ENDPOINT', ['http', 'https']),
      region: str(env, 'ORBITREPO_S3_REGION') ?? 'us-east-1',
      accessKeyId,
      secretAccessKey,
      forcePathStyle: bool(env, 'ORBITREPO_S3_FORCE_PATH_STYLE', false),
      prefix: (str(env, 'ORBITREPO_S3_PREFIX') ?? '').replace(/^\/+|\/+$/g, ''),
      writeTimeoutMs: int(env, 'ORBITREPO_S3_WRITE_TIMEOUT_MS', 30_000, 100, 3_600_000),
    };
  }

  const certFile = str(env, 'ORBITREPO_TLS_CERT_FILE');
  const keyFile = str(env, 'ORBITREPO_TLS_KEY_FILE');
  if (!!certFile !== !!keyFile) {
    throw new ConfigError(
      certFile ? 'ORBITREPO_TLS_KEY_FILE' : 'ORBITREPO_TLS_CERT_FILE',
      'ORBITREPO_TLS_CERT_FILE and ORBITREPO_TLS_KEY_FILE must be set together',
    );
  }

  for (const [name, file] of [
    ['ORBITREPO_TLS_CERT_FILE', certFile],
    ['ORBITREPO_TLS_KEY_FILE', keyFile],
  ] as const) {
    if (file) readableFile(name, file);
  }

  const adminPasswordRaw = env.ORBITREPO_ADMIN_PASSWORD;
  if (adminPasswordRaw !== undefined && adminPasswordRaw.length > 0 && adminPasswordRaw.length < 5) {
    throw new ConfigError('ORBITREPO_ADMIN_PASSWORD', 'must be at least 5 characters');
  }
  const adminPassword = adminPasswordRaw && adminPasswordRaw.length > 0 ? adminPasswordRaw : 'admin';

  const publicUrl = url(env, 'ORBITREPO_PUBLIC_URL', ['http', 'https'])?.replace(/\/+$/, '');
  const cacheBytes = int(env, 'ORBITREPO_CACHE_BYTES', DEFAULT_CACHE_BYTES, 0, Number.MAX_SAFE_INTEGER);

  const fullGcEveryBytes = int(env, 'ORBITREPO_FULL_GC_EVERY_MIB', 16, 0, 1024 * 1024) * 1024 * 1024;
  const reusePort = bool(env, 'ORBITREPO_REUSE_PORT', false);
  const databaseConnectTimeoutMs = int(env, 'ORBITREPO_DB_CONNECT_TIMEOUT_MS', DEFAULT_DB_CONNECT_TIMEOUT_MS, 100, 600_000);
  const databaseStatementTimeoutMs = int(env, 'ORBITREPO_DB_STATEMENT_TIMEOUT_MS', DEFAULT_DB_STATEMENT_TIMEOUT_MS, 100, 3_600_000);
  const sweepIntervalMs = int(env, 'ORBITREPO_SWEEP_INTERVAL_MS', DEFAULT_SWEEP_INTERVAL_MS, 1000, 7 * 24 * 3_600_000);
  const logLevel = oneOf(env, 'ORBITREPO_LOG_LEVEL', ['debug', 'info', 'warn', 'error', 'silent'] as const, 'info');
  const logFormat = str(env, 'ORBITREPO_LOG_FORMAT') ? oneOf(env, 'ORBITREPO_LOG_FORMAT', ['json', 'text'] as const, 'json') : undefined;
  const accessLog = bool(env, 'ORBITREPO_ACCESS_LOG', true);
  const metrics = bool(env, 'ORBITREPO_METRICS', true);
  const metricsToken = str(env, 'ORBITREPO_METRICS_TOKEN');
  if (metricsToken !== undefined && metricsToken.length < 16) {
    throw new ConfigError('ORBITREPO_METRICS_TOKEN', 'must be at least 16 characters (a random string, e.g. openssl rand -hex 24)');
  }
  const trustedProxies = (str(env, 'ORBITREPO_TRUSTED_PROXIES') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  // The shape only; the addresses themselves are read by http/trusted-proxies.ts when the plugin starts.
  for (const entry of trustedProxies) {
    const m = /^([0-9a-fA-F:.]+)(?:\/(\d{1,3}))?$/.exec(entry);
    const width = entry.includes(':') ? 128 : 32;
    if (!m)
      throw new ConfigError('ORBITREPO_TRUSTED_PROXIES', `must be comma-separated IP addresses or CIDR ranges; "${entry}" is neither`);
    if (m[2] !== undefined && Number(m[2]) > width) {
      throw new ConfigError('ORBITREPO_TRUSTED_PROXIES', `"${entry}": the prefix length must be 0 to ${width}`);
    }
  }

  return {
    host,
    port,
    dataDir,
    databaseUrl,
    storage: { type: storageType, path: storagePath, s3 },
    tls: certFile && keyFile ? { certFile: resolve(certFile), keyFile: resolve(keyFile) } : undefined,
    adminPassword,
    adminPasswordIsDefault: adminPassword === 'admin',
    publicUrl,
    reusePort,
    databaseConnectTimeoutMs,
    databaseStatementTimeoutMs,
    sweepIntervalMs,
    gcIntervalSeconds: duration(env, 'ORBITREPO_GC_INTERVAL', 86400),
    gcGraceSeconds: duration(env, 'ORBITREPO_GC_GRACE', 86400),
    cacheBytes,
    fullGcEveryBytes,
    logLevel,
    logFormat,
    accessLog,
    metrics,
    metricsToken,
    trustedProxies,
    gosumdb: str(env, 'ORBITREPO_GOSUMDB'),
  };
}
