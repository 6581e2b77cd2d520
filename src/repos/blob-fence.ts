import { sql } from 'drizzle-orm';
import type { Database } from '../db/open';

/**
 * Arbitrary constant. Writers hold this lock shared from the moment they commit (or renew) a blob until
 * the row that refers to it is committed; the blob collector holds it exclusively while it re-checks and
 * deletes a batch. So a blob is never deleted between a writer's commit and its row's, in any process.
 * On PGlite a transaction already excludes every other query, which gives the same guarantee in-process.
 */
export const BLOB_FENCE_LOCK_ID = 7_302_115_020;

/** Runs fn in a transaction holding the fence shared; fn's row writes must go through the given tx. */
export function withBlobWriteFence<T>(db: Database, fn: (tx: Database) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock_shared(${BLOB_FENCE_LOCK_ID})`);
    return fn(tx as unknown as Database);
  });
}

/** Runs fn in a transaction holding the fence exclusively (the collector's delete phase). */
export function withBlobDeleteFence<T>(db: Database, fn: (tx: Database) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${BLOB_FENCE_LOCK_ID})`);
    return fn(tx as unknown as Database);
  });
}
