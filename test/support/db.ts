import postgres from 'postgres';
import { type DatabaseHandle, openDatabase } from '../../src/db/open';

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

/** A fresh, migrated, throwaway database: every test file gets its own, so tests never see each other's rows. */
export async function createTestDatabaseUrl(): Promise<{ url: string; drop(): Promise<void> }> {
  const base = process.env.ORBITREPO_TEST_DATABASE_URL;
  if (!base) throw new Error('ORBITREPO_TEST_DATABASE_URL is not set');
  const name = `orbit_t_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const a = postgres(base, { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}

export async function openTestDatabase(kind: TestDatabaseKind): Promise<TestDatabase> {
  if (kind === 'pglite') {
    const handle = await openDatabase({});
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
