/**
 * Migrated PGlite databases for tests without paying for initdb each time. A fresh PGlite runs initdb before the
 * migrations, and that took 30 s and more per test file on a busy machine. Two forms are kept in the temp dir,
 * each named by the PGlite build and the migrations (either changing makes a new one instead of using a stale one):
 * - a dump (PGlite's dumpDataDir), loaded by in-memory databases;
 * - a data directory on disk, copied under a test server's data dir so the server opens it as its own.
 */
import { cpSync, existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import { type DatabaseHandle, MIGRATIONS_FOLDER, openDatabase, pgliteExtensions } from '../../src/db/open';
import * as schema from '../../src/db/schema';
import { migrationsHash } from './migrations-hash';

function pgliteVersion(): string {
  return (require('@electric-sql/pglite/package.json') as { version: string }).version;
}

function templatePath(suffix: string): string {
  return join(tmpdir(), `orbit-pglite-${process.getuid?.() ?? 'user'}-${pgliteVersion()}-${migrationsHash()}${suffix}`);
}

/** Runs the migrations on a new PGlite (in memory, or in dir), then hands it to use before closing it. */
async function migrateFresh<T>(dataDir: string | undefined, use: (client: PGlite) => Promise<T>): Promise<T> {
  // The extensions the server opens it with: a template migrated without pg_trgm would have no trigram index.
  const client = new PGlite({ ...(dataDir ? { dataDir } : {}), extensions: await pgliteExtensions() });
  try {
    await migrate(drizzle(client, { schema }), { migrationsFolder: MIGRATIONS_FOLDER });
    return await use(client);
  } finally {
    await client.close();
  }
}

let dumped: Promise<Blob> | undefined;

function migratedDump(): Promise<Blob> {
  dumped ??= (async () => {
    const file = templatePath('.tar');
    if (existsSync(file)) return new Blob([await Bun.file(file).arrayBuffer()]);
    // Uncompressed: loading it is faster than inflating it.
    const dump = await migrateFresh(undefined, (client) => client.dumpDataDir('none'));
    // Written aside and renamed, so a concurrent run never loads half a file.
    const partial = `${file}.${process.pid}`;
    writeFileSync(partial, new Uint8Array(await dump.arrayBuffer()));
    renameSync(partial, file);
    return dump;
  })();
  dumped.catch(() => {
    dumped = undefined;
  });
  return dumped;
}

let onDisk: Promise<string> | undefined;

function migratedDirectory(): Promise<string> {
  onDisk ??= (async () => {
    const dir = templatePath('.d');
    if (existsSync(dir)) return dir;
    // Built aside and renamed, so a concurrent run never copies half a directory.
    const partial = mkdtempSync(`${dir}.partial-`);
    try {
      await migrateFresh(partial, async () => {});
      renameSync(partial, dir);
    } catch (err) {
      rmSync(partial, { recursive: true, force: true });
      // Another run renamed its own first: theirs is as good as ours.
      if (!existsSync(dir)) throw err;
    }
    return dir;
  })();
  onDisk.catch(() => {
    onDisk = undefined;
  });
  return onDisk;
}

/** What openDatabase({}) gives, PGlite in memory with the schema up to date, started from the migrated dump. */
export async function openMigratedPglite(): Promise<DatabaseHandle> {
  return openDatabase({ loadDataDir: await migratedDump() });
}

/**
 * Makes `dir` a migrated PGlite data directory (a copy of the template), so a server given it as its
 * database directory skips initdb. `dir` must not exist yet.
 */
export async function seedPgliteDirectory(dir: string): Promise<void> {
  cpSync(await migratedDirectory(), dir, { recursive: true });
}
