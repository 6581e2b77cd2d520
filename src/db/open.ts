import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { DEFAULT_DB_CONNECT_TIMEOUT_MS, DEFAULT_DB_STATEMENT_TIMEOUT_MS } from '../config';
import { withDeadline, withinDeadline } from './deadline';
import { type QueryObserver, QueryObservers, timedPgliteClient, timedPostgresClient } from './query-timing';
import * as schema from './schema';

/** One drizzle type for both drivers: services never know which one they got. */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

export type Unlisten = () => Promise<void>;

/**
 * An open database: the drizzle handle plus the two PostgreSQL features that have no drizzle API
 * and that cross-process coordination needs (LISTEN/NOTIFY).
 */
export interface DatabaseHandle {
  db: Database;
  driver: 'pglite' | 'postgres';
  /**
   * Calls onPayload for each NOTIFY on channel until the returned function is called. onListen runs when
   * listening starts and again each time the connection is re-established (notifications in between are lost).
   */
  listen(channel: string, onPayload: (payload: string) => void, opts?: { onListen?: () => void }): Promise<Unlisten>;
  notify(channel: string, payload: string): Promise<void>;
  /**
   * Runs fn while holding the session-level advisory lock `id`, or returns { acquired: false } at once when
   * another holder has it: one of a kind across every process on this database (PGlite is one process,
   * and there the lock is held in-process, since its single session would take a PostgreSQL lock twice).
   */
  withTryLock<T>(id: number, fn: () => Promise<T>): Promise<TryLockResult<T>>;
  /** Reports each statement drizzle sends (operation, seconds, ok) until the returned function is called. */
  observeQueries(observer: QueryObserver): () => void;
  /**
   * What the connection pool can say of itself: statements sent and not yet answered (waiting for a connection
   * included; counted only while someone observes), and the most connections it opens (PGlite: one session).
   */
  poolStats(): { inFlight: number; maxConnections: number };
  close(): Promise<void>;
}

export type TryLockResult<T> = { acquired: true; result: T } | { acquired: false };

export const MIGRATIONS_FOLDER = join(import.meta.dir, '..', '..', 'drizzle');

/** Arbitrary constant: every process migrating one database takes this advisory lock first. */
const MIGRATION_LOCK_ID = 7_302_115_004;

export interface OpenDatabaseOptions {
  /** postgres:// URL; empty: embedded PGlite. */
  url?: string;
  /** PGlite data directory; empty with no url: in-memory PGlite (tests). */
  dataDir?: string;
  /**
   * PGlite: start from this dumped data directory (PGlite's dumpDataDir) instead of running initdb; the
   * migrations still run, so a dump older than the schema is brought up to date.
   */
  loadDataDir?: Blob;
  /** postgres-js pool size. */
  maxConnections?: number;
  /** PostgreSQL: how long opening a connection may take; empty: DEFAULT_DB_CONNECT_TIMEOUT_MS. */
  connectTimeoutMs?: number;
  /**
   * PostgreSQL: the server's statement_timeout, and (plus DEADLINE_SLACK_MS) how long the client waits
   * for any answer before giving up with a 503; empty: DEFAULT_DB_STATEMENT_TIMEOUT_MS.
   */
  statementTimeoutMs?: number;
}

/** The server's own statement_timeout should speak first (with a real error); the client-side deadline is the backstop. */
export const DEADLINE_SLACK_MS = 1000;

/** Opens the database and brings its schema up to date. */
export async function openDatabase(opts: OpenDatabaseOptions): Promise<DatabaseHandle> {
  return opts.url ? openPostgres(opts.url, opts) : openPglite(opts);
}

/**
 * PostgreSQL settings of the embedded database, after PGlite's own start parameters. shared_buffers: PGlite
 * keeps PostgreSQL's 128 MB, which is most of the idle process's memory (about 250 MiB RSS against 130 with
 * 16 MB); hot answers come from the in-memory caches, and one process with one session needs few buffers.
 */
const PGLITE_SETTINGS = ['-c', 'shared_buffers=16MB'];

/**
 * The extensions every PGlite on OrbitRepos's data loads: pg_trgm, for the trigram index of module search
 * (migration 0006). A data directory that has the index must always be opened with it (writing a row updates
 * the index, and that needs the extension's code), so whatever creates or opens one passes these.
 */
export async function pgliteExtensions() {
  const { pg_trgm } = await import('@electric-sql/pglite/contrib/pg_trgm');
  return { pg_trgm };
}

async function openPglite({ dataDir, loadDataDir }: OpenDatabaseOptions): Promise<DatabaseHandle> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { drizzle } = await import('drizzle-orm/pglite');
  const { migrate } = await import('drizzle-orm/pglite/migrator');
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const client = new PGlite({
    ...(dataDir ? { dataDir } : {}),
    ...(loadDataDir ? { loadDataDir } : {}),
    extensions: await pgliteExtensions(),
    startParams: [...(PGlite as unknown as { defaultStartParams: string[] }).defaultStartParams, ...PGLITE_SETTINGS],
  });
  await client.waitReady;
  const observers = new QueryObservers();
  const db = drizzle(timedPgliteClient(client, observers), { schema });
  await migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
  const held = new Set<number>();
  return {
    db: db as unknown as Database,
    driver: 'pglite',
    observeQueries: (observer) => observers.add(observer),
    poolStats: () => ({ inFlight: observers.inFlight, maxConnections: 1 }),
    async listen(channel, onPayload, opts) {
      const unsub = await client.listen(channel, onPayload);
      // In-process: the "connection" never drops.
      opts?.onListen?.();
      return async () => {
        await unsub();
      };
    },
    async notify(channel, payload) {
      await client.query('select pg_notify($1, $2)', [channel, payload]);
    },
    async withTryLock(id, fn) {
      if (held.has(id)) return { acquired: false };
      held.add(id);
      try {
        return { acquired: true, result: await fn() };
      } finally {
        held.delete(id);
      }
    },
    async close() {
      await client.close();
    },
  };
}

async function openPostgres(url: string, opts: OpenDatabaseOptions): Promise<DatabaseHandle> {
  const { default: postgres } = await import('postgres');
  const { drizzle } = await import('drizzle-orm/postgres-js');
  const { migrate } = await import('drizzle-orm/postgres-js/migrator');
  const connectMs = opts.connectTimeoutMs ?? DEFAULT_DB_CONNECT_TIMEOUT_MS;
  const statementMs = opts.statementTimeoutMs ?? DEFAULT_DB_STATEMENT_TIMEOUT_MS;
  const deadlineMs = statementMs + DEADLINE_SLACK_MS;
  const sql = postgres(url, {
    max: opts.maxConnections ?? 10,
    onnotice: () => {},
    // postgres-js counts in seconds; fractions work.
    connect_timeout: connectMs / 1000,
    // Idle connections are closed after a minute, so connections cut during an outage do not linger.
    idle_timeout: 60,
    connection: {
      application_name: 'orbitrepos',
      statement_timeout: statementMs,
      // A transaction whose client vanished (a killed process) must not hold its locks for long.
      idle_in_transaction_session_timeout: Math.max(statementMs * 2, 10_000),
    },
  });
  const observers = new QueryObservers();
  // Timing outside the deadline: a statement given up on is timed, and counted as an error.
  const db = drizzle(timedPostgresClient(withDeadline(sql, deadlineMs), observers), { schema });
  const maxConnections = opts.maxConnections ?? 10;

  // Several server processes may start at once against one database: migrate under a session lock,
  // on a client of its own with one connection so the lock and the migration share a session.
  // No statement timeout here: a migration may rightly take long, and waiting for the lock is the point.
  const migrator = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: connectMs / 1000 });
  try {
    await migrator`select pg_advisory_lock(${MIGRATION_LOCK_ID})`;
    await migrate(drizzle(migrator, { schema }), { migrationsFolder: MIGRATIONS_FOLDER });
    await migrator`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`;
  } finally {
    await migrator.end({ timeout: 5 });
  }

  return {
    db: db as unknown as Database,
    driver: 'postgres',
    observeQueries: (observer) => observers.add(observer),
    poolStats: () => ({ inFlight: observers.inFlight, maxConnections }),
    async listen(channel, onPayload, opts) {
      const sub = await withinDeadline(sql.listen(channel, onPayload, opts?.onListen), deadlineMs);
      return async () => {
        await sub.unlisten();
      };
    },
    async notify(channel, payload) {
      await withinDeadline(sql`select pg_notify(${channel}, ${payload})`, deadlineMs);
    },
    async withTryLock(id, fn) {
      // A session lock lives on one connection: reserve one for the whole run, so lock and unlock meet.
      const conn = await sql.reserve();
      try {
        const [{ got }] = await conn`select pg_try_advisory_lock(${id}) as got`;
        if (!got) return { acquired: false };
        try {
          return { acquired: true, result: await fn() };
        } finally {
          await conn`select pg_advisory_unlock(${id})`.catch(() => {});
        }
      } finally {
        conn.release();
      }
    },
    async close() {
      await sql.end({ timeout: 5 });
    },
  };
}
