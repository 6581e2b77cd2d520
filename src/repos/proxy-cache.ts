import { and, eq, sql } from 'drizzle-orm';
import type { Database } from '../db/open';
import { proxyCacheEntries } from '../db/schema';
import { NotFound, UpstreamMissing } from '../errors';
import type { Logger } from '../log';
import type { CacheOutcome } from '../observability/metrics';
import { warnOutage } from '../observability/outage-log';
import type { FetchCoalescer } from './coalesce';
import { absentUntil } from './expiring';
import { isUpstreamFailure } from './upstream';

/** One remembered upstream answer: a 200 with its body, or a 404/410 whose body is our one-line message. */
export interface CachedAnswer {
  status: number;
  body: Uint8Array;
  contentType: string | null;
  fetchedAt: Date;
  /** Computed by the database, so processes with skewed clocks agree. */
  fresh: boolean;
  /**
   * Date.now() by which the row expires, measured from before it was read (so never later than the row's
   * own expiry, whatever this process's clock says); 0 once expired. An in-memory copy lasts no longer.
   */
  until: number;
}

export interface AnswerPolicy {
  /** Seconds a 200 stays fresh; 0: every request asks the upstream (still coalesced, still stale-if-error). */
  ttlSeconds: number;
  /** Seconds a 404/410 is remembered. */
  negativeTtlSeconds: number;
  /**
   * With a last good answer at hand, how long a refresh may take before that answer is served
   * anyway (the refresh goes on and lands in the cache). Empty: wait for the refresh, however long.
   */
  staleAfterMs?: number;
}

/** For answers that never change (sumdb tiles and lookups): a hundred years. */
export const IMMUTABLE_TTL_SECONDS = 100 * 365 * 24 * 3600;

export interface UpstreamAnswer {
  bytes: Uint8Array;
  contentType: string | null;
}

/** What answer() gives back: the body and whether it is a stale copy served because the upstream failed. */
export interface Served {
  body: Uint8Array;
  contentType: string | null;
  stale: boolean;
  /** Date.now() after which a copy must not be served (the row's expiry); 0 for a stale answer. */
  until: number;
}

/**
 * The metadata cache of one proxy repository (proxy_cache_entries): list, @latest, sumdb answers
 * and remembered 404s. answer() is the whole policy: fresh hit, else one coalesced upstream
 * request whose answer is stored, else (upstream failing) the last good answer.
 */
export class ProxyMetadataCache {
  constructor(
    private readonly db: Database,
    private readonly repositoryId: number,
    private readonly coalescer: FetchCoalescer,
    private readonly log: Logger,
    /** Told how each answer() was served (hit, miss, stale, negative_hit, coalesced); empty: nobody listens. */
    private readonly observe: (outcome: CacheOutcome) => void = () => {},
    /** The repository's name, for log lines; empty: its id. */
    private readonly repository = `#${repositoryId}`,
  ) {}

  async get(key: string): Promise<CachedAnswer | undefined> {
    const asked = Date.now();
    const [row] = await this.db
      .select({
        status: proxyCacheEntries.status,
        body: proxyCacheEntries.body,
        contentType: proxyCacheEntries.contentType,
        fetchedAt: proxyCacheEntries.fetchedAt,
        fresh: sql<boolean>`${proxyCacheEntries.expiresAt} > now()`,
        remainingMs: sql<number>`greatest(0, extract(epoch from ${proxyCacheEntries.expiresAt} - now()) * 1000)::float8`,
      })
      .from(proxyCacheEntries)
      .where(and(eq(proxyCacheEntries.repositoryId, this.repositoryId), eq(proxyCacheEntries.key, key)))
      .limit(1);
    if (!row) return undefined;
    const { remainingMs, ...rest } = row;
    const fresh = row.fresh === true || (row.fresh as unknown) === 't';
    // Truncated to whole milliseconds, downwards: the copy ends no later than the row.
    return { ...rest, body: row.body ?? new Uint8Array(0), fresh, until: fresh ? asked + Math.floor(Number(remainingMs)) : 0 };
  }

  async put(key: string, status: number, answer: UpstreamAnswer, ttlSeconds: number): Promise<CachedAnswer> {
    // Before the insert: the row's clock_timestamp() is later, so its expiry is too.
    const asked = Date.now();
    const values = {
      status,
      body: answer.bytes,
      contentType: answer.contentType,
      fetchedAt: sql`clock_timestamp()`,
      expiresAt: sql`clock_timestamp() + ${ttlSeconds} * interval '1 second'`,
    };
    const [row] = await this.db
      .insert(proxyCacheEntries)
      .values({ repositoryId: this.repositoryId, key, ...values })
      .onConflictDoUpdate({ target: [proxyCacheEntries.repositoryId, proxyCacheEntries.key], set: values })
      .returning({ fetchedAt: proxyCacheEntries.fetchedAt });
    const fresh = ttlSeconds > 0;
    return {
      status,
      body: answer.bytes,
      contentType: answer.contentType,
      fetchedAt: row.fetchedAt,
      fresh,
      until: fresh ? asked + ttlSeconds * 1000 : 0,
    };
  }

  async delete(key: string): Promise<void> {
    await this.db
      .delete(proxyCacheEntries)
      .where(and(eq(proxyCacheEntries.repositoryId, this.repositoryId), eq(proxyCacheEntries.key, key)));
  }

  /**
   * The answer for key: a fresh entry as it is; otherwise one upstream request for all concurrent
   * askers (in every process), stored with its TTL; a 404/410 stored for the negative TTL and
   * thrown as NotFound; and when the upstream fails (5xx, timeout, unreachable), the last good
   * answer however old, because a build that worked yesterday should not break on a flaky upstream.
   */
  async answer(key: string, policy: AnswerPolicy, fetchUpstream: (signal: AbortSignal) => Promise<UpstreamAnswer>): Promise<Served> {
    const seen = await this.get(key);
    if (seen?.fresh) {
      this.observe(seen.status === 200 ? 'hit' : 'negative_hit');
      return served(seen, false);
    }
    const coalesceKey = `meta:${this.repositoryId}:${key}`;
    // What another process stored while we waited counts; what we saw before asking does not.
    const changed = async () => {
      const now = await this.get(key);
      return now && (!seen || now.fetchedAt.getTime() !== seen.fetchedAt.getTime()) ? now : undefined;
    };
    // Only the caller whose fill runs asked the upstream; the others waited on it.
    let fetched = false;
    const refresh = this.coalescer.run(coalesceKey, changed, async (signal) => {
      fetched = true;
      try {
        return await this.put(key, 200, await fetchUpstream(signal), policy.ttlSeconds);
      } catch (err) {
        if (!(err instanceof UpstreamMissing)) throw err;
        const message = new TextEncoder().encode(err.message);
        return this.put(key, err.upstreamStatus, { bytes: message, contentType: 'text/plain; charset=utf-8' }, policy.negativeTtlSeconds);
      }
    });
    try {
      const entry = seen?.status === 200 && policy.staleAfterMs !== undefined ? await orStale(refresh, policy.staleAfterMs) : await refresh;
      if (entry === SLOW) {
        warnOutage(this.log, this.repository, 'upstream is slow; serving the last good answer while the refresh goes on', { key });
        this.observe('stale');
        return served(seen!, true);
      }
      this.observe(fetched ? 'miss' : 'coalesced');
      return served(entry, false);
    } catch (err) {
      if (seen?.status === 200 && isUpstreamFailure(err)) {
        warnOutage(this.log, this.repository, 'upstream failed; serving the last good answer', { key, err });
        this.observe('stale');
        return served(seen, true);
      }
      this.observe(fetched ? 'miss' : 'coalesced');
      throw err;
    }
  }
}

const SLOW = Symbol('slow');

/** The refresh, or SLOW after ms; a refresh that loses the race still completes (its failure is only logged by the caller's next try). */
function orStale<T>(refresh: Promise<T>, ms: number): Promise<T | typeof SLOW> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const slow = new Promise<typeof SLOW>((resolve) => (timer = setTimeout(() => resolve(SLOW), ms)));
  refresh.catch(() => {});
  return Promise.race([refresh, slow]).finally(() => clearTimeout(timer));
}

function served(entry: CachedAnswer, stale: boolean): Served {
  if (entry.status !== 200) throw missingAnswer(entry);
  return { body: entry.body, contentType: entry.contentType, stale, until: stale ? 0 : entry.until };
}

/** A remembered 404/410 as the error it was, so a 410 is passed on as a 410; true until the row expires (absentUntil). */
export function missingAnswer(entry: CachedAnswer): NotFound {
  const message = new TextDecoder().decode(entry.body);
  return absentUntil(entry.status === 410 ? new UpstreamMissing(410, message) : new NotFound(message), entry.until);
}
