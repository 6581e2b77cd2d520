import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig, type StorageConfig } from '../../src/config';
import type { AppContext } from '../../src/context';
import { type Logger, silentLogger } from '../../src/log';
import type { OrbitRepos } from '../../src/plugin';
import { startServer } from '../../src/server';
import type { BlobStore } from '../../src/storage/blob-store';
import { ADMIN_PASSWORD } from './app';
import { createTestDatabaseUrl, type TestDatabaseKind } from './db';
import { HANG_LIMIT_MS } from './limits';
import { seedPgliteDirectory } from './pglite';
import { makeTestCA, type TestCA } from './tls';

const REPO_ROOT = resolve(import.meta.dir, '..', '..');

export interface StartTestServerOptions {
  /** 'pglite' (default: embedded, under the temp data dir), 'postgres' (a throwaway database), or a URL to share. */
  db?: TestDatabaseKind | { url: string };
  /** Default: the filesystem under the temp data dir. */
  storage?: StorageConfig;
  /** A store instance instead (one that fails on purpose); overrides `storage`. */
  store?: BlobStore;
  /** true: a throwaway CA and certificate (see tls.ts); or certificate files of your own. Default: plain HTTP. */
  tls?: boolean | TestCA;
  /** More ORBITREPO_* variables, applied over the defaults. */
  env?: Record<string, string>;
  /** Default: silent. */
  log?: Logger;
}

export interface TestServer {
  /** e.g. https://127.0.0.1:41234 */
  url: string;
  port: number;
  ctx: AppContext;
  /** The plugin the server runs (its Elysia app, its fast path). */
  orbit: OrbitRepos;
  /** The CA to trust when tls was asked for (SSL_CERT_FILE for the go command, `tls: { ca }` for fetch). */
  tls?: TestCA;
  dataDir: string;
  /** The postgres:// URL in use, so a second server (or process) can share the database. */
  databaseUrl?: string;
  /** Stops listening, closes the database, drops a throwaway database and removes the temp dir. */
  stop(): Promise<void>;
}

/** The standalone server (src/server.ts) in this process, on 127.0.0.1 and a port the OS picks. */
export async function startTestServer(opts: StartTestServerOptions = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'orbit-server-'));
  let dropDatabase: (() => Promise<void>) | undefined;
  let databaseUrl: string | undefined;
  if (opts.db === 'postgres') {
    const made = await createTestDatabaseUrl();
    databaseUrl = made.url;
    dropDatabase = made.drop;
  } else if (typeof opts.db === 'object') {
    databaseUrl = opts.db.url;
  } else {
    // The server opens its embedded database under dataDir/db: a migrated copy there spares it initdb.
    await seedPgliteDirectory(join(dataDir, 'db'));
  }
  const tls = opts.tls === true ? makeTestCA(join(dataDir, 'tls')) : opts.tls || undefined;
  const env: Record<string, string> = {
    ORBITREPO_HOST: '127.0.0.1',
    ORBITREPO_PORT: '0',
    ORBITREPO_DATA_DIR: dataDir,
    ORBITREPO_ADMIN_PASSWORD: ADMIN_PASSWORD,
    ...(databaseUrl ? { ORBITREPO_DATABASE_URL: databaseUrl } : {}),
    ...(tls ? { ORBITREPO_TLS_CERT_FILE: tls.certFile, ORBITREPO_TLS_KEY_FILE: tls.keyFile } : {}),
    ...opts.env,
  };
  const config = loadConfig(env);
  if (opts.storage) config.storage = opts.storage;
  let running: Awaited<ReturnType<typeof startServer>>;
  try {
    running = await startServer(config, opts.log ?? silentLogger, { storage: opts.store });
  } catch (err) {
    await dropDatabase?.();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  let stopped: Promise<void> | undefined;
  return {
    url: running.url,
    port: running.port,
    ctx: running.orbit.context,
    orbit: running.orbit,
    tls,
    dataDir,
    databaseUrl,
    stop() {
      stopped ??= (async () => {
        await running.stop();
        await dropDatabase?.();
        rmSync(dataDir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}

export interface ServerProcess {
  url: string;
  port: number;
  pid: number;
  /** Everything the process printed so far (JSON log lines), for assertions and failure messages. */
  output(): string;
  /** The process's resident set size now, in bytes (Linux: VmRSS of /proc/PID/status). */
  rssBytes(): number;
  /** SIGTERM, then SIGKILL after 5 s; removes a temp data dir this helper made. */
  stop(): Promise<number>;
}

const START_TIMEOUT_MS = HANG_LIMIT_MS;

/**
 * `bun run src/index.ts` as a separate process, for tests that need two servers that share nothing but
 * the database. Listens on 127.0.0.1, port 0 unless env says otherwise; the port is read from the
 * startup line "OrbitRepos listening on http(s)://host:PORT". Only non-ORBITREPO_ variables are
 * inherited from this process, so the test's own settings never leak in by accident.
 */
export async function startServerProcess(
  env: Record<string, string> = {},
  /**
   * startTimeoutMs: how long to wait for the listening line (benchmarks on a busy machine wait longer);
   * root: the checkout whose src/index.ts runs (a benchmark's baseline); default this one.
   * logFile: stdout and stderr go to this file, as a deployment's log would, instead of a pipe this process
   * reads (a benchmark's access log, read here, took CPU from the server it measured).
   */
  opts: { startTimeoutMs?: number; root?: string; logFile?: string } = {},
): Promise<ServerProcess> {
  const startTimeoutMs = opts.startTimeoutMs ?? START_TIMEOUT_MS;
  const root = opts.root ?? REPO_ROOT;
  const ownDataDir = env.ORBITREPO_DATA_DIR ? undefined : mkdtempSync(join(tmpdir(), 'orbit-proc-'));
  // The migrated template is this checkout's: another checkout (a benchmark's baseline) may have other
  // migrations, or lack an extension its data needs (pg_trgm since 0006), so it migrates its own data dir.
  if (ownDataDir && !env.ORBITREPO_DATABASE_URL && root === REPO_ROOT) await seedPgliteDirectory(join(ownDataDir, 'db'));
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([k, v]) => !k.startsWith('ORBITREPO_') && v !== undefined),
  ) as Record<string, string>;
  const logFd = opts.logFile ? openSync(opts.logFile, 'w') : undefined;
  const child = Bun.spawn([process.execPath, 'run', join(root, 'src', 'index.ts')], {
    cwd: root,
    env: {
      ...inherited,
      ORBITREPO_HOST: '127.0.0.1',
      ORBITREPO_PORT: '0',
      ORBITREPO_ADMIN_PASSWORD: ADMIN_PASSWORD,
      ...(ownDataDir ? { ORBITREPO_DATA_DIR: ownDataDir } : {}),
      ...env,
    },
    stdin: 'ignore',
    stdout: logFd ?? 'pipe',
    stderr: logFd ?? 'pipe',
  });
  if (logFd !== undefined) closeSync(logFd);
  // What the process printed: its first 256 KiB and its last 1 MiB (a benchmark's access log runs to GiBs).
  let head = '';
  let tail = '';
  let skipped = 0;
  const keep = (text: string) => {
    if (head.length < 256 * 1024) {
      const room = 256 * 1024 - head.length;
      head += text.slice(0, room);
      text = text.slice(room);
    }
    tail += text;
    if (tail.length > 2 * 1024 * 1024) {
      skipped += tail.length - 1024 * 1024;
      tail = tail.slice(-1024 * 1024);
    }
  };
  const printed = () => (skipped ? `${head}\n[… ${skipped} characters left out …]\n${tail}` : head + tail);
  let listeningSeen = false;
  let pending = '';
  let found: ((url: string) => void) | undefined;
  const listening = new Promise<string>((res) => (found = res));
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    const reader = stream.getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      const text = decoder.decode(r.value, { stream: true });
      keep(text);
      // Looked for until found, in what came since the last complete line: a benchmark's server writes
      // an access-log line per request, and scanning all of it on every chunk took a core of its own.
      if (!listeningSeen) {
        pending += text;
        const m = /OrbitRepos listening on (https?:\/\/[^\s"]+:(\d+))/.exec(pending);
        if (m) {
          listeningSeen = true;
          found?.(m[1]);
        }
        pending = pending.slice(pending.lastIndexOf('\n') + 1);
      }
    }
  };
  if (opts.logFile) {
    // The file is read for the listening line only: its first 256 KiB, until the line is there.
    const logFile = opts.logFile;
    void (async () => {
      while (!listeningSeen && child.exitCode === null) {
        const text = await Bun.file(logFile)
          .slice(0, 256 * 1024)
          .text();
        head = text;
        const m = /OrbitRepos listening on (https?:\/\/[^\s"]+:(\d+))/.exec(text);
        if (m) {
          listeningSeen = true;
          found?.(m[1]);
        } else await Bun.sleep(50);
      }
    })();
  } else {
    void drain(child.stdout as ReadableStream<Uint8Array>);
    void drain(child.stderr as ReadableStream<Uint8Array>);
  }

  let timer: ReturnType<typeof setTimeout> | undefined;
  const failed = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`server process did not start within ${startTimeoutMs} ms:\n${printed()}`)), startTimeoutMs);
    child.exited.then((code) => reject(new Error(`server process exited with code ${code} before listening:\n${printed()}`)));
  });
  failed.catch(() => {});
  let url: string;
  try {
    url = await Promise.race([listening, failed]);
  } catch (err) {
    child.kill('SIGKILL');
    if (ownDataDir) rmSync(ownDataDir, { recursive: true, force: true });
    throw err;
  } finally {
    clearTimeout(timer);
  }

  let stopped: Promise<number> | undefined;
  return {
    url,
    port: Number(new URL(url).port),
    pid: child.pid,
    output: printed,
    rssBytes: () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? Number.NaN) * 1024,
    stop() {
      stopped ??= (async () => {
        child.kill('SIGTERM');
        const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
        const code = await child.exited;
        clearTimeout(kill);
        if (ownDataDir) rmSync(ownDataDir, { recursive: true, force: true });
        return code;
      })();
      return stopped;
    },
  };
}
