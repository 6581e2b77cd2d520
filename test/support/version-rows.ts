import { and, eq } from 'drizzle-orm';
import { type ModuleVersionRow, moduleVersions } from '../../src/db/schema';
import type { TestApp } from './app';

/**
 * Version rows written straight to the database, no zips: for tests of what reads them in bulk (search,
 * browse), where publishing thousands of modules would only slow the test down. add() collects, insert() writes.
 */
export function versionRows(t: TestApp) {
  const rows: (typeof moduleVersions.$inferInsert)[] = [];
  return {
    async add(repo: string, modulePath: string, versions: string[]): Promise<void> {
      const { id } = await t.ctx.repositories.rowByName(repo);
      for (const version of versions) rows.push({ repositoryId: id, modulePath, version, time: new Date(), origin: 'uploaded' });
    },
    async insert(batch = 500): Promise<void> {
      for (let i = 0; i < rows.length; i += batch) await t.ctx.db.insert(moduleVersions).values(rows.slice(i, i + batch));
    },
  };
}

/** The row of module@version, whichever repository holds it (tests give each module its own path). */
export async function versionRow(t: TestApp, module: string, version = 'v1.0.0'): Promise<ModuleVersionRow | undefined> {
  const [r] = await t.ctx.db
    .select()
    .from(moduleVersions)
    .where(and(eq(moduleVersions.modulePath, module), eq(moduleVersions.version, version)));
  return r;
}

/** The staged blobs left in storage (tmp/): none once every stage was committed or discarded. */
export async function stagedKeys(t: TestApp): Promise<string[]> {
  const left: string[] = [];
  for await (const key of t.storage.list('tmp/')) left.push(key);
  return left;
}
