import type { Database } from './db/open';
import { auditLog } from './db/schema';
import { ServiceUnavailable, toAppError } from './errors';
import type { Logger } from './log';

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
 * Admin actions, kept in the database. The entry is written after the action succeeded, so a
 * database blip in between would lose it: the write is retried a few times, and when it still
 * fails the action's caller gets the failure (503 for an outage) and the entry goes to the
 * server log in full. An entry is never dropped without a trace.
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

  private async write(entry: AuditEntry): Promise<void> {
    await this.db.insert(auditLog).values({
      actor: entry.actor,
      action: entry.action,
      repository: entry.repository ?? null,
      target: entry.target ?? null,
      details: entry.details ?? {},
      clientAddress: entry.clientAddress ?? null,
    });
  }
}
