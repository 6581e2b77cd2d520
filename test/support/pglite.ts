/**
 * In-memory PGlite for tests, started from a migrated data directory dumped once and kept in the temp dir for
 * later runs. A fresh PGlite runs initdb before the migrations, and that took 30 s and more per test file on a
 * busy machine; loading a dumped, migrated data directory skips both.
 */
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import { type Database, type DatabaseHandle, MIGRATIONS_FOLDER } from '../../src/db/open';
import * as schema from '../../src/db/schema';
import { migrationsHash } from './migrations-hash';

let migrated: Promise<Blob> | undefined;

function pgliteVersion(): string {
  return (require('@electric-sql/pglite/package.json') as { version: string }).version;
}

function migratedDataDir(): Promise<Blob> {
  migrated ??= (async () => {
    // Named by the PGlite build and the migrations: either changing makes a new dump instead of loading a stale one.
    const file = join(tmpdir(), `orbit-pglite-${process.getuid?.() ?? 'user'}-${pgliteVersion()}-${migrationsHash()}.tar`);
    if (existsSync(file)) return new Blob([await Bun.file(file).arrayBuffer()]);
    const client = new PGlite();
    try {
      await migrate(drizzle(client, { schema }), { migrationsFolder: MIGRATIONS_FOLDER });
      // Uncompressed: loading it is faster than inflating it.
      const dump = await client.dumpDataDir('none');
      // Written aside and renamed, so a concurrent run never loads half a file.
      const partial = `${file}.${process.pid}`;
      writeFileSync(partial, new Uint8Array(await dump.arrayBuffer()));
      renameSync(partial, file);
      return dump;
    } finally {
      await client.close();
    }
  })();
  migrated.catch(() => {
    migrated = undefined;
  });
  return migrated;
}

/**
 * What openDatabase({}) gives, PGlite in memory with the schema up to date, without paying for initdb each time.
 * The handle mirrors openPglite in src/db/open.ts, which has no way to be given a data directory to load.
 */
export async function openMigratedPglite(): Promise<DatabaseHandle> {
  const client = new PGlite({ loadDataDir: await migratedDataDir() });
  await client.waitReady;
  const held = new Set<number>();
  return {
    db: drizzle(client, { schema }) as unknown as Database,
    driver: 'pglite',
    async listen(channel, onPayload) {
      const unsub = await client.listen(channel, onPayload);
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
