import { and, asc, eq, sql } from 'drizzle-orm';
import type { Actor, AuditLog } from '../audit';
import type { Database } from '../db/open';
import { type ModuleVersionRow, moduleVersions, type RepositoryRow } from '../db/schema';
import { Conflict } from '../errors';
import { selectLatest } from '../goproxy/version';

/**
 * module_versions access shared by hosted and proxy repositories. Every lookup here is one query
 * on the (repository, module[, version]) indexes: the go command probes each path prefix of a
 * module, and those misses must cost no more than an index probe.
 */

export type NewVersionRow = typeof moduleVersions.$inferInsert;

/**
 * The two reads every warm request makes, prepared once per database handle: drizzle then builds their
 * SQL text once instead of on every request (a sixth of the CPU of a warm .info before). A transaction
 * handle is another object and gets its own.
 */
interface PreparedReads {
  findVersion: { execute(values: { repositoryId: number; module: string; version: string }): Promise<ModuleVersionRow[]> };
  versionTimes: { execute(values: { repositoryId: number; module: string }): Promise<VersionTime[]> };
}

const preparedByDb = new WeakMap<Database, PreparedReads>();

function prepared(db: Database): PreparedReads {
  let p = preparedByDb.get(db);
  if (!p) {
    p = {
      findVersion: db
        .select()
        .from(moduleVersions)
        .where(
          and(
            eq(moduleVersions.repositoryId, sql.placeholder('repositoryId')),
            eq(moduleVersions.modulePath, sql.placeholder('module')),
            eq(moduleVersions.version, sql.placeholder('version')),
          ),
        )
        .limit(1)
        .prepare('orbit_find_version'),
      versionTimes: db
        .select({ version: moduleVersions.version, time: moduleVersions.time })
        .from(moduleVersions)
        .where(
          and(eq(moduleVersions.repositoryId, sql.placeholder('repositoryId')), eq(moduleVersions.modulePath, sql.placeholder('module'))),
        )
        .prepare('orbit_version_times'),
    };
    preparedByDb.set(db, p);
  }
  return p;
}

/** The row of one version, or undefined. */
export async function findVersionRow(
  db: Database,
  repositoryId: number,
  module: string,
  version: string,
): Promise<ModuleVersionRow | undefined> {
  const [row] = await prepared(db).findVersion.execute({ repositoryId, module, version });
  return row;
}

export interface VersionTime {
  version: string;
  time: Date;
}

/** Every version of a module with its time (what list and @latest need), in no useful order. */
export async function listVersionTimes(db: Database, repositoryId: number, module: string): Promise<VersionTime[]> {
  return prepared(db).versionTimes.execute({ repositoryId, module });
}

/** Every row of a module (admin listings), ordered by version text; callers sort by semver. */
export async function listVersionRows(db: Database, repositoryId: number, module: string): Promise<ModuleVersionRow[]> {
  return db
    .select()
    .from(moduleVersions)
    .where(and(eq(moduleVersions.repositoryId, repositoryId), eq(moduleVersions.modulePath, module)))
    .orderBy(asc(moduleVersions.version));
}

/**
 * True for a unique_violation (SQLSTATE 23505). postgres-js puts `code` on its PostgresError,
 * PGlite on its DatabaseError, and drizzle may wrap either in a DrizzleQueryError whose `cause`
 * is the driver's error, so the whole cause chain is searched.
 */
export function isUniqueViolation(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === '23505') return true;
  }
  return false;
}

function alreadyExists(row: Pick<NewVersionRow, 'modulePath' | 'version'>): Conflict {
  // go.sum pins the hash of every version it has seen, so replacing one would break every build that used it.
  return new Conflict(`${row.modulePath}@${row.version} already exists; versions are immutable, publish a new version instead`);
}

/**
 * Inserts a version that must not exist yet. The unique index decides between racing writers, in
 * one process or many: the loser gets Conflict, never a duplicate row.
 */
export async function insertVersionRow(db: Database, row: NewVersionRow): Promise<ModuleVersionRow> {
  let inserted: ModuleVersionRow | undefined;
  try {
    [inserted] = await db.insert(moduleVersions).values(row).onConflictDoNothing().returning();
  } catch (err) {
    // ON CONFLICT DO NOTHING covers the index; this covers a driver or wrapper that still raises.
    if (isUniqueViolation(err)) throw alreadyExists(row);
    throw err;
  }
  if (!inserted) throw alreadyExists(row);
  return inserted;
}

/** Inserts a version, or replaces every stored fact about it (hosted `allow` policy, proxy refreshes). */
export async function upsertVersionRow(db: Database, row: NewVersionRow): Promise<ModuleVersionRow> {
  const { repositoryId: _r, modulePath: _m, version: _v, ...changes } = row;
  const [saved] = await db
    .insert(moduleVersions)
    .values(row)
    .onConflictDoUpdate({
      target: [moduleVersions.repositoryId, moduleVersions.modulePath, moduleVersions.version],
      set: { ...changes, createdAt: sql`now()` },
    })
    .returning();
  return saved;
}

/** Deletes one version's row and returns it, or undefined when there was none. Blobs stay (they may be shared). */
export async function deleteVersionRow(
  db: Database,
  repositoryId: number,
  module: string,
  version: string,
): Promise<ModuleVersionRow | undefined> {
  const [row] = await db
    .delete(moduleVersions)
    .where(and(eq(moduleVersions.repositoryId, repositoryId), eq(moduleVersions.modulePath, module), eq(moduleVersions.version, version)))
    .returning();
  return row;
}

/** A delete asked to keep @latest (DeleteOptions.keepLatest) met the version @latest answers. */
export class LatestVersionKept extends Conflict {}

/**
 * Deletes one version's row and writes its `module.delete` audit entry in one transaction (`also` runs in
 * it too, e.g. a tombstone), so a version is never gone without its entry. Undefined when there was none.
 */
export async function deleteVersionAudited(
  deps: { db: Database; audit: AuditLog },
  repo: RepositoryRow,
  module: string,
  version: string,
  actor: Actor,
  also?: (tx: Database, gone: ModuleVersionRow) => Promise<void>,
  opts: { keepLatest?: boolean } = {},
): Promise<ModuleVersionRow | undefined> {
  return deps.db.transaction(async (tx) => {
    const t = tx as unknown as Database;
    if (opts.keepLatest) {
      // Locked until commit: a concurrent delete of another version of the module waits, or went first and is seen here.
      const rows = await t
        .select({ version: moduleVersions.version, time: moduleVersions.time })
        .from(moduleVersions)
        .where(and(eq(moduleVersions.repositoryId, repo.id), eq(moduleVersions.modulePath, module)))
        .for('update');
      if (selectLatest(rows)?.version === version)
        throw new LatestVersionKept(`${module}@${version} is the version @latest answers in repository "${repo.name}"; it is kept`);
    }
    const gone = await deleteVersionRow(t, repo.id, module, version);
    if (!gone) return undefined;
    await also?.(t, gone);
    await deps.audit.recordIn(t, {
      actor: actor.username,
      action: 'module.delete',
      repository: repo.name,
      target: `${module}@${version}`,
      details: gone.zipSize !== null ? { size: gone.zipSize } : {},
      clientAddress: actor.clientAddress,
    });
    return gone;
  });
}
