import { and, desc, eq, gte, like, lt, type SQL } from 'drizzle-orm';
import type { Database } from './db/open';
import { auditLog } from './db/schema';
import { BadRequest, ServiceUnavailable, toAppError } from './errors';
import type { Logger } from './log';

/** Who is writing, for rows and the audit log. Never credentials. */
export interface Actor {
  username: string | null;
  clientAddress?: string;
}

export interface AuditEntry {
  actor: string | null;
  action: string;
  repository?: string;
  target?: string;
  details?: Record<string, unknown>;
  clientAddress?: string;
}

export interface AuditLogOptions {
  /** Waits before each retry; its length is the number of retries. Default: two retries, 100 and 400 ms. */
  retryDelaysMs?: number[];
  /** No retry starts once this long has passed since the first try (a frozen database takes a deadline per try). */
  retryBudgetMs?: number;
}

/**
 * Admin actions, kept in the database. Every action that is a database write (publishing, deleting a
 * version, repository, user, token and grant changes, cleanup policies, purging a tombstone) writes its
 * entry in its own transaction (recordIn): both commit or neither does. Only what is not one database
 * write (a blob collection, which deletes from storage; a cleanup run's summary, after its removals
 * each committed with their own entries) writes its entry after the action (record): the write is
 * retried a few times, and when it still fails the action's caller gets the failure (503 for an
 * outage) and the entry goes to the server log in full. An entry is never dropped without a trace.
 */
export class AuditLog {
  private readonly retryDelaysMs: number[];
  private readonly retryBudgetMs: number;

  constructor(
    private readonly db: Database,
    private readonly log: Logger,
    options: AuditLogOptions = {},
  ) {
    this.retryDelaysMs = options.retryDelaysMs ?? [100, 400];
    this.retryBudgetMs = options.retryBudgetMs ?? 3000;
  }

  /** The audit log, newest first, a page at a time (see listAudit). */
  list(filter: AuditFilter, page: { cursor?: string; limit?: number } = {}): Promise<AuditPage> {
    return listAudit(this.db, filter, page);
  }

  /**
   * Writes the entry in the caller's transaction, so the action and its entry commit together: when the
   * entry cannot be written the transaction, and with it the action, is rolled back (an outage is a 503).
   * For actions that are database writes; record() is for the rest.
   */
  async recordIn(tx: Database, entry: AuditEntry): Promise<void> {
    await this.write(entry, tx);
  }

  async record(entry: AuditEntry): Promise<void> {
    const started = performance.now();
    for (let attempt = 0; ; attempt++) {
      try {
        await this.write(entry);
        if (attempt > 0) this.log.warn('audit write succeeded after a retry', { action: entry.action, retries: attempt });
        return;
      } catch (err) {
        const delay = this.retryDelaysMs[attempt];
        if (delay !== undefined && performance.now() - started + delay < this.retryBudgetMs) {
          await Bun.sleep(delay);
          continue;
        }
        this.log.error('audit write failed: the action was done but is not in the audit log; this line is its record', {
          entry: { ...entry, time: new Date().toISOString() },
          attempts: attempt + 1,
          err: err as Error,
        });
        if (toAppError(err).status === 503) {
          throw new ServiceUnavailable(
            `the ${entry.action} was done, but the database did not take its audit entry (it is in the server log); check before repeating it`,
          );
        }
        throw err;
      }
    }
  }

  private async write(entry: AuditEntry, db: Database = this.db): Promise<void> {
    await db.insert(auditLog).values({
      actor: entry.actor,
      action: entry.action,
      repository: entry.repository ?? null,
      target: entry.target ?? null,
      details: entry.details ?? {},
      clientAddress: entry.clientAddress ?? null,
    });
  }
}

/** What GET /api/v1/audit may filter on; every field empty means "any". */
export interface AuditFilter {
  actor?: string;
  /** An exact action (`repository.create`) or a family ending in `.*` (`repository.*`). */
  action?: string;
  repository?: string;
  /** Entries at or after this time. */
  from?: Date;
  /** Entries before this time. */
  to?: Date;
}

export interface AuditRecord {
  id: number;
  at: Date;
  actor: string | null;
  action: string;
  repository: string | null;
  target: string | null;
  details: Record<string, unknown>;
  clientAddress: string | null;
}

export interface AuditPage {
  entries: AuditRecord[];
  /** Pass back as `cursor` for the next (older) page; null: this was the last. */
  nextCursor: string | null;
}

export const AUDIT_PAGE_DEFAULT = 50;
export const AUDIT_PAGE_MAX = 500;

/**
 * Newest first. The cursor is the id of the last entry handed out (ids only grow), so a page is a keyset
 * query and entries written meanwhile never shift or repeat what the reader has already seen.
 */
export async function listAudit(db: Database, filter: AuditFilter, page: { cursor?: string; limit?: number } = {}): Promise<AuditPage> {
  const limit = Math.min(Math.max(page.limit ?? AUDIT_PAGE_DEFAULT, 1), AUDIT_PAGE_MAX);
  const conditions: SQL[] = [];
  if (page.cursor !== undefined) {
    if (!/^[1-9]\d{0,15}$/.test(page.cursor)) throw new BadRequest('cursor must be the nextCursor of a previous page');
    conditions.push(lt(auditLog.id, Number(page.cursor)));
  }
  if (filter.actor) conditions.push(eq(auditLog.actor, filter.actor));
  if (filter.action?.endsWith('.*')) conditions.push(like(auditLog.action, `${filter.action.slice(0, -1).replace(/[\\%_]/g, '\\$&')}%`));
  else if (filter.action) conditions.push(eq(auditLog.action, filter.action));
  if (filter.repository) conditions.push(eq(auditLog.repository, filter.repository));
  if (filter.from) conditions.push(gte(auditLog.at, filter.from));
  if (filter.to) conditions.push(lt(auditLog.at, filter.to));
  const rows = await db
    .select()
    .from(auditLog)
    .where(conditions.length ? and(...conditions) : undefined)
    .orderBy(desc(auditLog.id))
    .limit(limit + 1);
  const entries = rows.slice(0, limit);
  return { entries, nextCursor: rows.length > limit ? String(entries[entries.length - 1].id) : null };
}
