import postgres from 'postgres';
import { type DatabaseHandle, openDatabase } from '../../src/db/open';
import { migrationsHash } from './migrations-hash';
import { openMigratedPglite } from './pglite';

export type TestDatabaseKind = 'pglite' | 'postgres';

/** PGlite always; PostgreSQL too when ORBITREPO_TEST_DATABASE_URL names a server (CI sets it). */
export function testDatabaseKinds(): TestDatabaseKind[] {
  return process.env.ORBITREPO_TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];
}

export interface TestDatabase {
  handle: DatabaseHandle;
  /** postgres:// URL of the throwaway database (postgres kind), for server processes started by a test. */
  url?: string;
  cleanup(): Promise<void>;
}

/** Arbitrary constant: whoever builds a template database holds this advisory lock, so concurrent runs build it once. */
const TEMPLATE_LOCK_ID = 7_302_115_012;

function withDatabase(base: string, name: string): string {
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}

let template: Promise<string> | undefined;

/**
 * The name of a database migrated once and copied for every test (CREATE DATABASE ... TEMPLATE): migrating a
 * fresh database per test file cost seconds each on a busy machine. It is built under another name and renamed
 * when complete, so a run that dies half-way never leaves a half-migrated template behind.
 */
function migratedTemplate(base: string): Promise<string> {
  template ??= (async () => {
    const name = `orbit_tpl_${migrationsHash()}`;
    const admin = postgres(base, { max: 1, onnotice: () => {} });
    try {
      await admin`select pg_advisory_lock(${TEMPLATE_LOCK_ID})`;
      const found = await admin`select 1 from pg_database where datname = ${name}`;
      if (found.length === 0) {
        const building = `${name}_building`;
        await admin.unsafe(`drop database if exists ${building} with (force)`);
        await admin.unsafe(`create database ${building}`);
        const handle = await openDatabase({ url: withDatabase(base, building), maxConnections: 1 });
        await handle.close();
        await admin.unsafe(`alter database ${building} rename to ${name}`);
      }
      await admin`select pg_advisory_unlock(${TEMPLATE_LOCK_ID})`;
      return name;
    } finally {
      await admin.end({ timeout: 5 });
    }
  })();
  // A failure is reported to this caller; the next one tries again.
  template.catch(() => {
    template = undefined;
  });
  return template;
}

/** A fresh, migrated, throwaway database: every test file gets its own, so tests never see each other's rows. */
export async function createTestDatabaseUrl(): Promise<{ url: string; drop(): Promise<void> }> {
  const base = process.env.ORBITREPO_TEST_DATABASE_URL;
  if (!base) throw new Error('ORBITREPO_TEST_DATABASE_URL is not set');
  const from = await migratedTemplate(base);
  const name = `orbit_t_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name} template ${from}`);
  await admin.end();
  return {
    url: withDatabase(base, name),
    async drop() {
      const a = postgres(base, { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}

export async function openTestDatabase(kind: TestDatabaseKind): Promise<TestDatabase> {
  if (kind === 'pglite') {
    const handle = await openMigratedPglite();
    return { handle, cleanup: () => handle.close() };
  }
  const { url, drop } = await createTestDatabaseUrl();
  const handle = await openDatabase({ url, maxConnections: 5 });
  return {
    handle,
    url,
    async cleanup() {
      await handle.close();
      await drop();
    },
  };
}
