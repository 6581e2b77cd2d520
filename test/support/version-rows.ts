import { moduleVersions } from '../../src/db/schema';
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
