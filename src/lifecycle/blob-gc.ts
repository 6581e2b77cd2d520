import { and, eq, inArray, isNotNull, lt, ne, or, sql } from 'drizzle-orm';
import type { AuditLog } from '../audit';
import type { Database, DatabaseHandle } from '../db/open';
import { moduleVersions, proxyCacheEntries } from '../db/schema';
import type { Logger } from '../log';
import { withBlobDeleteFence } from '../repos/blob-fence';
import type { BlobStore } from '../storage/blob-store';
import { sweepStaged } from '../storage/content-addressed';

/** Arbitrary constant: the advisory lock that makes one collector at a time across every process. */
export const GC_LOCK_ID = 7_302_115_019;
export const DEFAULT_GC_GRACE_MS = 24 * 60 * 60 * 1000;
/**
 * An expired 200 answer (list, @latest, sumdb) is still what the proxy serves when its upstream fails
 * (stale-if-error), so it is kept this long past its expiry; remembered 404s go as soon as they expire.
 */
export const STALE_ANSWER_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;
/** Where content-addressed blobs live (storage/content-addressed.ts); staged tmp/ blobs have their own sweep. */
const BLOB_PREFIX = 'blobs/';
/** Candidates re-checked against the database and deleted per round. */
const BATCH = 100;
/** The report lists at most this many blobs by name; counts and bytes always cover all of them. */
const LISTED_MAX = 1000;

/**
 * Every column that holds a blob key. The collector keeps exactly the blobs these name: a new column
 * that points at blobs must be added here, or its blobs are collected.
 */
const BLOB_KEY_COLUMNS = [moduleVersions.zipKey, moduleVersions.modKey, moduleVersions.infoKey] as const;

export interface GcOptions {
  /** List what would go, remove nothing. */
  dryRun?: boolean;
  /** Blobs written less than this long ago are kept whatever refers to them. Default 24 h. */
  graceMs?: number;
  /** The clock (tests move it forward instead of waiting a day). Default: now. */
  now?: Date;
  /** Who asked, for the audit log: a user name, or e.g. "schedule". */
  actor?: string;
}

export interface CollectedBlob {
  key: string;
  size: number;
  modifiedAt: string;
}

export interface GcReport {
  /** False when another collector (in this or another process) was running: this one did nothing. */
  ran: boolean;
  dryRun: boolean;
  /** Content-addressed blobs seen in storage. */
  scanned: number;
  /** Blobs removed (or that would be, on a dry run); `blobs` names the first of them. */
  removed: number;
  bytes: number;
  blobs: CollectedBlob[];
  /** Unreferenced blobs spared because they were written within the grace period. */
  young: number;
  /** Expired proxy metadata rows (remembered 404s, long-expired answers) pruned, or that would be. */
  cacheRows: number;
  /** Staged leftovers of interrupted uploads removed (never on a dry run). */
  staged: number;
}

/**
 * Mark and sweep over content-addressed blobs. The mark is read before storage is listed, so a row
 * committed after the mark points at a blob written (or renewed, see commitBlob) just before that commit,
 * younger than the grace period; each candidate is checked again (rows, then modification time) right
 * before it goes, under the blob fence (repos/blob-fence.ts) that writers hold from a blob's commit to
 * its row's: a writer that renews an old unreferenced blob of identical bytes is never cut off.
 */
export class BlobCollector {
  constructor(private readonly deps: { database: DatabaseHandle; db: Database; storage: BlobStore; audit: AuditLog; log: Logger }) {}

  async run(options: GcOptions = {}): Promise<GcReport> {
    const got = await this.deps.database.withTryLock(GC_LOCK_ID, () => this.collect(options));
    if (got.acquired) return got.result;
    return { ran: false, dryRun: !!options.dryRun, scanned: 0, removed: 0, bytes: 0, blobs: [], young: 0, cacheRows: 0, staged: 0 };
  }

  private async collect(options: GcOptions): Promise<GcReport> {
    const { storage, audit, log } = this.deps;
    const dryRun = !!options.dryRun;
    const now = options.now ?? new Date();
    const cutoff = now.getTime() - (options.graceMs ?? DEFAULT_GC_GRACE_MS);
    const report: GcReport = { ran: true, dryRun, scanned: 0, removed: 0, bytes: 0, blobs: [], young: 0, cacheRows: 0, staged: 0 };

    const marked = await this.referencedKeys();
    let batch: { key: string; size: number; modifiedAt: Date }[] = [];
    const sweep = async () => {
      const taken = await this.sweepBatch(batch, cutoff, dryRun);
      for (const blob of taken) {
        report.removed++;
        report.bytes += blob.size;
        if (report.blobs.length < LISTED_MAX) report.blobs.push({ ...blob, modifiedAt: blob.modifiedAt.toISOString() });
      }
      batch = [];
    };
    for await (const entry of storage.listEntries(BLOB_PREFIX)) {
      report.scanned++;
      if (marked.has(entry.key)) continue;
      if (entry.modifiedAt.getTime() >= cutoff) {
        report.young++;
        continue;
      }
      batch.push(entry);
      if (batch.length >= BATCH) await sweep();
    }
    if (batch.length > 0) await sweep();

    report.cacheRows = await this.pruneProxyCache(now, dryRun);
    if (!dryRun) report.staged = await sweepStaged(storage, undefined, now.getTime());

    if (!dryRun && (report.removed > 0 || report.cacheRows > 0 || report.staged > 0)) {
      await audit.record({
        actor: options.actor ?? 'schedule',
        action: 'lifecycle.gc',
        details: {
          blobs: report.removed,
          bytes: report.bytes,
          cacheRows: report.cacheRows,
          staged: report.staged,
          keys: report.blobs.slice(0, 100).map((b) => b.key),
        },
      });
      log.info('blob collection removed unreferenced data', {
        blobs: report.removed,
        bytes: report.bytes,
        cacheRows: report.cacheRows,
        staged: report.staged,
      });
    }
    return report;
  }

  private async referencedKeys(): Promise<Set<string>> {
    const keys = new Set<string>();
    for (const column of BLOB_KEY_COLUMNS) {
      const rows = await this.deps.db.selectDistinct({ key: column }).from(moduleVersions).where(isNotNull(column));
      for (const { key } of rows) if (key) keys.add(key);
    }
    return keys;
  }

  /**
   * Candidates still unreferenced and still old at this moment; deleted unless dryRun. The check and the
   * deletes run under the blob fence, so no writer is between committing one of these blobs and its row.
   */
  private async sweepBatch(
    candidates: { key: string; size: number; modifiedAt: Date }[],
    cutoff: number,
    dryRun: boolean,
  ): Promise<{ key: string; size: number; modifiedAt: Date }[]> {
    const sweep = async (db: Database) => {
      const referenced = await referencedAmong(
        db,
        candidates.map((c) => c.key),
      );
      const taken: { key: string; size: number; modifiedAt: Date }[] = [];
      for (const candidate of candidates) {
        if (referenced.has(candidate.key)) continue;
        if (!dryRun) {
          const stat = await this.deps.storage.head(candidate.key);
          if (!stat || stat.modifiedAt.getTime() >= cutoff) continue;
          await this.deps.storage.delete(candidate.key);
        }
        taken.push(candidate);
      }
      return taken;
    };
    return dryRun ? sweep(this.deps.db) : withBlobDeleteFence(this.deps.db, sweep);
  }

  /** Remembered 404/410s once expired; 200 answers once long expired (see STALE_ANSWER_RETENTION_MS). */
  private async pruneProxyCache(now: Date, dryRun: boolean): Promise<number> {
    const staleBefore = new Date(now.getTime() - STALE_ANSWER_RETENTION_MS);
    const where = or(
      and(ne(proxyCacheEntries.status, 200), lt(proxyCacheEntries.expiresAt, now)),
      and(eq(proxyCacheEntries.status, 200), lt(proxyCacheEntries.expiresAt, staleBefore)),
    );
    if (dryRun) {
      const [{ n }] = await this.deps.db
        .select({ n: sql<number>`count(*)`.mapWith(Number) })
        .from(proxyCacheEntries)
        .where(where);
      return n;
    }
    const gone = await this.deps.db.delete(proxyCacheEntries).where(where).returning({ key: proxyCacheEntries.key });
    return gone.length;
  }
}

async function referencedAmong(db: Database, keys: string[]): Promise<Set<string | null>> {
  const rows = await db
    .select({ zip: moduleVersions.zipKey, mod: moduleVersions.modKey, info: moduleVersions.infoKey })
    .from(moduleVersions)
    .where(or(inArray(moduleVersions.zipKey, keys), inArray(moduleVersions.modKey, keys), inArray(moduleVersions.infoKey, keys)));
  return new Set(rows.flatMap((r) => [r.zip, r.mod, r.info]));
}
