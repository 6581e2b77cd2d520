import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { openMigratedPglite } from '../test/support/pglite';
import { AuditLog } from './audit';
import type { Database, DatabaseHandle } from './db/open';
import { auditLog } from './db/schema';
import { ServiceUnavailable } from './errors';
import type { LogFields, Logger } from './log';

const lostConnection = () => Object.assign(new Error('write CONNECTION_CLOSED 127.0.0.1:5432'), { code: 'CONNECTION_CLOSED' });

/** The real database, whose next `failures` inserts fail as a dropped connection would. */
function flaky(db: Database, failures: number, makeError: () => Error = lostConnection): Database & { tries: number } {
  const wrapped = Object.create(db) as Database & { tries: number };
  wrapped.tries = 0;
  wrapped.insert = ((table: typeof auditLog) => {
    wrapped.tries++;
    if (failures-- > 0) return { values: async () => Promise.reject(makeError()) };
    return db.insert(table);
  }) as Database['insert'];
  return wrapped;
}

function recordingLogger() {
  const lines: { level: string; message: string; fields?: LogFields }[] = [];
  const log: Logger = {
    info: (message, fields) => lines.push({ level: 'info', message, fields }),
    warn: (message, fields) => lines.push({ level: 'warn', message, fields }),
    error: (message, fields) => lines.push({ level: 'error', message, fields }),
  };
  return { log, lines };
}

describe('AuditLog', () => {
  let handle: DatabaseHandle;
  beforeAll(async () => {
    handle = await openMigratedPglite();
  }, 60_000);
  afterAll(async () => {
    await handle.close();
  });
  const rows = async (action: string) => (await handle.db.select().from(auditLog)).filter((r) => r.action === action);

  test('an entry whose write fails twice is retried and written once', async () => {
    const db = flaky(handle.db, 2);
    const { log } = recordingLogger();
    await new AuditLog(db, log, { retryDelaysMs: [1, 1, 1] }).record({ actor: 'admin', action: 'test.blip', target: 'x' });
    expect(db.tries).toBe(3);
    expect(await rows('test.blip')).toHaveLength(1);
  });

  test('an entry that cannot be written fails the action with a 503 and is logged in full, never dropped silently', async () => {
    const db = flaky(handle.db, 10);
    const { log, lines } = recordingLogger();
    const audit = new AuditLog(db, log, { retryDelaysMs: [1, 1] });
    const err = await audit.record({ actor: 'admin', action: 'test.outage', repository: 'r', target: 'm@v1.0.0' }).catch((e) => e);
    expect(err).toBeInstanceOf(ServiceUnavailable);
    expect(err.message).toContain('test.outage');
    expect(db.tries).toBe(3);
    expect(await rows('test.outage')).toHaveLength(0);
    const logged = lines.find((l) => l.level === 'error');
    expect(logged?.fields?.entry).toMatchObject({ actor: 'admin', action: 'test.outage', repository: 'r', target: 'm@v1.0.0' });
  });

  test('retries stop once the budget is spent', async () => {
    const db = flaky(handle.db, 10);
    const { log } = recordingLogger();
    const err = await new AuditLog(db, log, { retryDelaysMs: [50, 50, 50], retryBudgetMs: 10 })
      .record({ actor: null, action: 'test.budget' })
      .catch((e) => e);
    expect(err).toBeInstanceOf(ServiceUnavailable);
    expect(db.tries).toBe(1);
  });

  test('a write that fails for another reason than an outage is passed on as it is, after its retries', async () => {
    const bug = new Error('column "nope" does not exist');
    const db = flaky(handle.db, 10, () => bug);
    const { log } = recordingLogger();
    await expect(new AuditLog(db, log, { retryDelaysMs: [1] }).record({ actor: null, action: 'test.bug' })).rejects.toBe(bug);
  });
});
