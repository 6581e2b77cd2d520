import { describe, expect, test } from 'bun:test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from './config';

const dir = mkdtempSync(join(tmpdir(), 'orbit-config-'));
const pem = join(dir, 'server.pem');
writeFileSync(pem, '-----BEGIN CERTIFICATE-----\n');

describe('loadConfig', () => {
  test('an empty environment is the zero-setup default: PGlite and files under ./data, port 8080, plain HTTP', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      host: '0.0.0.0',
      port: 8080,
      databaseUrl: undefined,
      tls: undefined,
      adminPassword: 'admin',
      adminPasswordIsDefault: true,
      reusePort: false,
      databaseConnectTimeoutMs: 5000,
      databaseStatementTimeoutMs: 5000,
      sweepIntervalMs: 3_600_000,
    });
    expect(c.dataDir).toEndWith('/data');
    expect(c.storage).toMatchObject({ type: 'filesystem', path: join(c.dataDir, 'storage') });
  });

  test('the cache budget is 64 MiB unless ORBITREPO_CACHE_BYTES says otherwise; 0 turns caching off', () => {
    expect(loadConfig({}).cacheBytes).toBe(64 * 1024 * 1024);
    expect(loadConfig({ ORBITREPO_CACHE_BYTES: '1048576' }).cacheBytes).toBe(1048576);
    expect(loadConfig({ ORBITREPO_CACHE_BYTES: '0' }).cacheBytes).toBe(0);
  });

  test('uploads and fills collect every 16 MiB unless ORBITREPO_FULL_GC_EVERY_MIB says otherwise; 0 switches it off', () => {
    expect(loadConfig({}).fullGcEveryBytes).toBe(16 * 1024 * 1024);
    expect(loadConfig({ ORBITREPO_FULL_GC_EVERY_MIB: '64' }).fullGcEveryBytes).toBe(64 * 1024 * 1024);
    expect(loadConfig({ ORBITREPO_FULL_GC_EVERY_MIB: '0' }).fullGcEveryBytes).toBe(0);
    expect(() => loadConfig({ ORBITREPO_FULL_GC_EVERY_MIB: '16MiB' })).toThrow('ORBITREPO_FULL_GC_EVERY_MIB: must be a whole number');
  });

  test('S3 settings come together into one object', () => {
    const c = loadConfig({
      ORBITREPO_STORAGE_TYPE: 's3',
      ORBITREPO_S3_BUCKET: 'mods',
      ORBITREPO_S3_FORCE_PATH_STYLE: 'true',
      ORBITREPO_S3_PREFIX: '/go/',
    });
    expect(c.storage.s3).toMatchObject({ bucket: 'mods', region: 'us-east-1', forcePathStyle: true, prefix: 'go' });
  });

  // Each bad value stops start-up with one line that names the variable and what it accepts.
  test.each([
    ['a port that is not a number', { ORBITREPO_PORT: 'eighty' }, 'ORBITREPO_PORT', 'whole number'],
    ['a port out of range', { ORBITREPO_PORT: '70000' }, 'ORBITREPO_PORT', 'whole number'],
    ['a cache budget with a unit', { ORBITREPO_CACHE_BYTES: '64MiB' }, 'ORBITREPO_CACHE_BYTES', 'whole number'],
    ['a database URL that is not PostgreSQL', { ORBITREPO_DATABASE_URL: 'mysql://db/x' }, 'ORBITREPO_DATABASE_URL', 'postgres'],
    ['an unknown storage type', { ORBITREPO_STORAGE_TYPE: 'ftp' }, 'ORBITREPO_STORAGE_TYPE', 'filesystem, s3'],
    ['S3 without a bucket', { ORBITREPO_STORAGE_TYPE: 's3' }, 'ORBITREPO_S3_BUCKET', 'required'],
    [
      'an S3 key id without its secret',
      { ORBITREPO_STORAGE_TYPE: 's3', ORBITREPO_S3_BUCKET: 'b', ORBITREPO_S3_ACCESS_KEY_ID: 'k' },
      'ORBITREPO_S3_SECRET_ACCESS_KEY',
      'together',
    ],
    [
      'a flag that is not a boolean',
      { ORBITREPO_STORAGE_TYPE: 's3', ORBITREPO_S3_BUCKET: 'b', ORBITREPO_S3_FORCE_PATH_STYLE: 'yes please' },
      'ORBITREPO_S3_FORCE_PATH_STYLE',
      'true or false',
    ],
    ['a TLS certificate without its key', { ORBITREPO_TLS_CERT_FILE: pem }, 'ORBITREPO_TLS_KEY_FILE', 'together'],
    [
      'a TLS certificate file that is not there',
      { ORBITREPO_TLS_CERT_FILE: join(dir, 'missing.pem'), ORBITREPO_TLS_KEY_FILE: pem },
      'ORBITREPO_TLS_CERT_FILE',
      'does not exist',
    ],
    [
      'a TLS key file that is not there',
      { ORBITREPO_TLS_CERT_FILE: pem, ORBITREPO_TLS_KEY_FILE: join(dir, 'missing-key.pem') },
      'ORBITREPO_TLS_KEY_FILE',
      'does not exist',
    ],
    ['a too-short admin password', { ORBITREPO_ADMIN_PASSWORD: 'abc' }, 'ORBITREPO_ADMIN_PASSWORD', 'at least'],
    ['a public URL that is not http(s)', { ORBITREPO_PUBLIC_URL: 'ftp://repo.example' }, 'ORBITREPO_PUBLIC_URL', 'URL'],
    ['a reuse-port flag that is not a boolean', { ORBITREPO_REUSE_PORT: 'sometimes' }, 'ORBITREPO_REUSE_PORT', 'true or false'],
    ['a statement timeout in words', { ORBITREPO_DB_STATEMENT_TIMEOUT_MS: '5s' }, 'ORBITREPO_DB_STATEMENT_TIMEOUT_MS', 'whole number'],
    ['a connect timeout of zero', { ORBITREPO_DB_CONNECT_TIMEOUT_MS: '0' }, 'ORBITREPO_DB_CONNECT_TIMEOUT_MS', 'from 100'],
    ['a sweep interval under a second', { ORBITREPO_SWEEP_INTERVAL_MS: '10' }, 'ORBITREPO_SWEEP_INTERVAL_MS', 'from 1000'],
    ['a collection interval that is not a duration', { ORBITREPO_GC_INTERVAL: 'daily' }, 'ORBITREPO_GC_INTERVAL', 'duration'],
    ['a negative grace period', { ORBITREPO_GC_GRACE: '-5' }, 'ORBITREPO_GC_GRACE', 'duration'],
    ['an unknown log level', { ORBITREPO_LOG_LEVEL: 'verbose' }, 'ORBITREPO_LOG_LEVEL', 'debug, info, warn, error, silent'],
    ['an unknown log format', { ORBITREPO_LOG_FORMAT: 'xml' }, 'ORBITREPO_LOG_FORMAT', 'json, text'],
    ['metrics neither on nor off', { ORBITREPO_METRICS: 'maybe' }, 'ORBITREPO_METRICS', 'true or false'],
    ['an access log neither on nor off', { ORBITREPO_ACCESS_LOG: 'some' }, 'ORBITREPO_ACCESS_LOG', 'true or false'],
    ['a metrics token too short to be secret', { ORBITREPO_METRICS_TOKEN: 'abc' }, 'ORBITREPO_METRICS_TOKEN', 'at least 16'],
    [
      'a trusted proxy that is not a CIDR',
      { ORBITREPO_TRUSTED_PROXIES: '10.0.0.0/8, proxy.internal' },
      'ORBITREPO_TRUSTED_PROXIES',
      'proxy.internal',
    ],
    ['a trusted proxy with a prefix too long', { ORBITREPO_TRUSTED_PROXIES: 'fd00::/130' }, 'ORBITREPO_TRUSTED_PROXIES', '0 to 128'],
  ])('%s is refused, naming the variable', (_what, env, variable, says) => {
    let err: unknown;
    try {
      loadConfig(env);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe(variable);
    expect((err as ConfigError).message).toStartWith(`${variable}: `);
    expect((err as ConfigError).message).toContain(says);
    expect((err as ConfigError).message).not.toContain('\n');
  });

  test.each([
    [{}, 86400, 86400],
    [{ ORBITREPO_GC_INTERVAL: '0' }, 0, 86400],
    [{ ORBITREPO_GC_INTERVAL: '6h', ORBITREPO_GC_GRACE: '90m' }, 21600, 5400],
    [{ ORBITREPO_GC_INTERVAL: '3600', ORBITREPO_GC_GRACE: '2d' }, 3600, 172800],
  ])('storage lifecycle timing %j is read as seconds (daily by default, 0 disables)', (env, interval, grace) => {
    expect(loadConfig(env)).toMatchObject({ gcIntervalSeconds: interval, gcGraceSeconds: grace });
  });

  test('log, metrics and proxy settings: info level, format by terminal, access log and metrics on, metrics open, no trusted proxies', () => {
    expect(loadConfig({})).toMatchObject({
      logLevel: 'info',
      logFormat: undefined,
      accessLog: true,
      metrics: true,
      metricsToken: undefined,
      trustedProxies: [],
    });
    expect(
      loadConfig({
        ORBITREPO_LOG_LEVEL: 'warn',
        ORBITREPO_LOG_FORMAT: 'text',
        ORBITREPO_ACCESS_LOG: 'false',
        ORBITREPO_METRICS: 'off',
        ORBITREPO_METRICS_TOKEN: 'a-long-random-token-value',
        ORBITREPO_TRUSTED_PROXIES: ' 10.0.0.0/8 ,2001:db8::/32,',
      }),
    ).toMatchObject({
      logLevel: 'warn',
      logFormat: 'text',
      accessLog: false,
      metrics: false,
      metricsToken: 'a-long-random-token-value',
      trustedProxies: ['10.0.0.0/8', '2001:db8::/32'],
    });
  });

  test('TLS files that exist are taken as absolute paths', () => {
    expect(loadConfig({ ORBITREPO_TLS_CERT_FILE: pem, ORBITREPO_TLS_KEY_FILE: pem }).tls).toEqual({ certFile: pem, keyFile: pem });
  });
});
