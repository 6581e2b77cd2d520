import type { Database } from './db/open';
import { auditLog } from './db/schema';
import type { Logger } from './log';

export interface AuditEntry {
  actor: string | null;
  action: string;
  repository?: string;
  target?: string;
  details?: Record<string, unknown>;
  clientAddress?: string;
}

/** Admin actions, kept in the database. A failed audit write is logged, never fails the action it records. */
export class AuditLog {
  constructor(
    private readonly db: Database,
    private readonly log: Logger,
  ) {}

  async record(entry: AuditEntry): Promise<void> {
    try {
      await this.db.insert(auditLog).values({
        actor: entry.actor,
        action: entry.action,
        repository: entry.repository ?? null,
        target: entry.target ?? null,
        details: entry.details ?? {},
        clientAddress: entry.clientAddress ?? null,
      });
    } catch (err) {
      this.log.error('audit write failed', { action: entry.action, err });
    }
  }
}
