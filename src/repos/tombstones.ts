import { and, asc, eq } from 'drizzle-orm';
import type { AuditLog } from '../audit';
import type { Database } from '../db/open';
import { type ModuleVersionRow, type RepositoryRow, type VersionTombstoneRow, versionTombstones } from '../db/schema';
import { BadRequest, Conflict, NotFound } from '../errors';
import type { VersionCache } from './cached-repository';
import type { Actor } from './repository';

const where = (repositoryId: number, module: string, version: string) =>
  and(eq(versionTombstones.repositoryId, repositoryId), eq(versionTombstones.modulePath, module), eq(versionTombstones.version, version));

/** Remembers the hashes of a hosted version being deleted under allow_once (in the transaction that deletes its row). */
export async function rememberDeleted(db: Database, row: ModuleVersionRow, deletedBy: string | null): Promise<void> {
  if (!row.h1 || !row.goModH1) return;
  const values = { h1: row.h1, goModH1: row.goModH1, zipSize: row.zipSize, deletedBy, deletedAt: new Date() };
  await db
    .insert(versionTombstones)
    .values({ repositoryId: row.repositoryId, modulePath: row.modulePath, version: row.version, ...values })
    .onConflictDoUpdate({ target: [versionTombstones.repositoryId, versionTombstones.modulePath, versionTombstones.version], set: values });
}

export async function findTombstone(
  db: Database,
  repositoryId: number,
  module: string,
  version: string,
): Promise<VersionTombstoneRow | undefined> {
  const [row] = await db
    .select()
    .from(versionTombstones)
    .where(where(repositoryId, module, version))
    .limit(1);
  return row;
}

/**
 * Refuses bytes other than those a deleted version had: go.sum files still pin its hashes. Returns true
 * when there is a tombstone and these bytes match it (the upload restores the version).
 */
export async function checkAgainstTombstone(
  db: Database,
  repo: RepositoryRow,
  module: string,
  version: string,
  hashes: { h1: string; goModH1: string },
): Promise<boolean> {
  const tomb = await findTombstone(db, repo.id, module, version);
  if (!tomb) return false;
  if (tomb.h1 === hashes.h1 && tomb.goModH1 === hashes.goModH1) return true;
  const [was, now] = tomb.h1 !== hashes.h1 ? [tomb.h1, hashes.h1] : [`${tomb.goModH1} (go.mod)`, `${hashes.goModH1} (go.mod)`];
  throw new Conflict(
    `${module}@${version} was deleted from repository ${JSON.stringify(repo.name)}, and go.sum files still pin it as ${was}; this upload is ${now}. Upload the same bytes to restore it, or publish a new version`,
  );
}

export async function clearTombstone(db: Database, repositoryId: number, module: string, version: string): Promise<void> {
  await db.delete(versionTombstones).where(where(repositoryId, module, version));
}

export interface TombstoneView {
  module: string;
  version: string;
  h1: string;
  goModH1: string;
  size: number | null;
  deletedBy: string | null;
  deletedAt: string;
}

/** The admin side of tombstones: what a repository remembers, and purging one on purpose. */
export class TombstoneService {
  /** versions: told of a purge, since a deleted version answers 410 while its tombstone is there, and 404 after. */
  constructor(
    private readonly db: Database,
    private readonly audit: AuditLog,
    private readonly versions: Pick<VersionCache, 'changed'>,
  ) {}

  async list(repo: RepositoryRow): Promise<TombstoneView[]> {
    const rows = await this.db
      .select()
      .from(versionTombstones)
      .where(eq(versionTombstones.repositoryId, repo.id))
      .orderBy(asc(versionTombstones.modulePath), asc(versionTombstones.version));
    return rows.map((r) => ({
      module: r.modulePath,
      version: r.version,
      h1: r.h1,
      goModH1: r.goModH1,
      size: r.zipSize,
      deletedBy: r.deletedBy,
      deletedAt: r.deletedAt.toISOString(),
    }));
  }

  /** Forgets a deleted version's hashes: different bytes may then be published under it, breaking every go.sum that pinned the old. */
  async purge(repo: RepositoryRow, module: string, version: string, actor: Actor): Promise<void> {
    if (!module || !version) throw new BadRequest('module and version are required');
    await this.db.transaction(async (tx) => {
      const t = tx as unknown as Database;
      const [gone] = await t
        .delete(versionTombstones)
        .where(where(repo.id, module, version))
        .returning();
      if (!gone) throw new NotFound(`repository ${JSON.stringify(repo.name)} has no tombstone for ${module}@${version}`);
      await this.audit.recordIn(t, {
        actor: actor.username,
        action: 'tombstone.purge',
        repository: repo.name,
        target: `${module}@${version}`,
        details: { h1: gone.h1, goModH1: gone.goModH1 },
        clientAddress: actor.clientAddress,
      });
    });
    await this.versions.changed(repo.id, module);
  }
}
