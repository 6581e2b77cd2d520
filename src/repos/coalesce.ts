import { hostname } from 'node:os';
import { and, eq, lt, sql } from 'drizzle-orm';
import type { DatabaseHandle, Unlisten } from '../db/open';
import { fetchLeases } from '../db/schema';
import { AppError, BadUpstream, NotFound, UpstreamMissing, UpstreamTimeout } from '../errors';
import type { Logger } from '../log';

export interface CoalescerOptions {
  /** Written into lease rows; must differ between processes. Empty: host:pid:random. */
  owner?: string;
  /** How long a lease lasts without a heartbeat: a crashed holder blocks others at most this long. Empty: 30 s. */
  leaseMs?: number;
  /** How often the holder renews its lease. Empty: a third of leaseMs. */
  heartbeatMs?: number;
  /** How often a waiter looks again when no NOTIFY comes (a lost notification, LISTEN unavailable). Empty: 1 s. */
  pollMs?: number;
  /** The longest a waiter waits for another process's fetch. Empty: 15 min. */
  maxWaitMs?: number;
  /**
   * This process is the database's only user (embedded PGlite): the in-process map is then the whole of
   * coalescing, and no lease row is written nor NOTIFY sent (three statements a fill, all queued behind the
   * one PGlite session). Empty: false, leases through the database.
   */
  soleProcess?: boolean;
}

/** NOTIFY payload: the key whose fetch ended, and its failure if it failed. */
interface Notice {
  k: string;
  e?: { s: number; m: string };
}

const CHANNEL = 'orbitrepos_fetch';
/** NOTIFY payloads are limited to 8000 bytes; keys and messages are cut well below. */
const MAX_MESSAGE = 500;

/**
 * One fetch per key. In one process a Map of promises makes concurrent callers share one
 * fill; across processes sharing a PostgreSQL database, a fetch_leases row elects one holder
 * and NOTIFY (with a poll as fallback) wakes the others when it is done. A holder that crashes
 * stops renewing its lease, and the next waiter takes the key over when it lapses.
 *
 * The fill runs on a signal of its own: none of the callers going away cancels it, since the
 * others still want its result (and the next caller would only start it again).
 */
export class FetchCoalescer {
  private readonly inflight = new Map<string, { done: Promise<unknown>; early: PromiseWithResolvers<unknown> }>();
  private readonly waiters = new Map<string, Set<(n: Notice) => void>>();
  private readonly owner: string;
  private readonly leaseMs: number;
  private readonly heartbeatMs: number;
  private readonly pollMs: number;
  private readonly maxWaitMs: number;
  private readonly soleProcess: boolean;
  private readonly stopping = new AbortController();
  private listening?: Promise<Unlisten | undefined>;

  constructor(
    private readonly database: DatabaseHandle,
    private readonly log: Logger,
    opts: CoalescerOptions = {},
  ) {
    this.owner = opts.owner ?? `${hostname()}:${process.pid}:${crypto.randomUUID().slice(0, 8)}`;
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.heartbeatMs = opts.heartbeatMs ?? Math.max(100, Math.floor(this.leaseMs / 3));
    this.pollMs = opts.pollMs ?? 1_000;
    this.maxWaitMs = opts.maxWaitMs ?? 15 * 60_000;
    this.soleProcess = opts.soleProcess ?? false;
  }

  /**
   * Resolves once no fill of this process whose key starts with `prefix` is in progress, those begun
   * meanwhile included (a fill may go on storing after its bytes were answered: proxy.ts).
   */
  async settled(prefix = ''): Promise<void> {
    for (;;) {
      const running = [...this.inflight].filter(([key]) => key.startsWith(prefix)).map(([, f]) => f.done);
      if (running.length === 0) return;
      await Promise.allSettled(running);
    }
  }

  /** Keys being filled by this process right now (tests, metrics). */
  get inflightKeys(): string[] {
    return [...this.inflight.keys()];
  }

  /**
   * Resolves with what `lookup` finds once `fill` has run, by this caller or another. Exactly one
   * caller at a time runs `fill` for a key; it must leave the result where `lookup` finds it.
   * `lookup` is asked again after taking the lease, so a fill another process just finished is
   * not repeated. Failures of the fill reach every waiter, in this process and (as status and
   * message) in others.
   */
  run<T>(key: string, lookup: () => Promise<T | undefined>, fill: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return this.share(key, lookup, fill).done;
  }

  /**
   * run, where the fill may also give an answer before it ends (`answer`: a proxy's small file once checked,
   * while it is stored): `early` resolves with it for every caller of the key in this process, and never when
   * the fill gives none (or ran elsewhere, or was not needed). `done` is what run resolves with.
   */
  share<T, E>(
    key: string,
    lookup: () => Promise<T | undefined>,
    fill: (signal: AbortSignal, answer: (value: E) => void) => Promise<T>,
  ): { done: Promise<T>; early: Promise<E> } {
    const existing = this.inflight.get(key);
    if (existing) return { done: existing.done as Promise<T>, early: existing.early.promise as Promise<E> };
    const early = Promise.withResolvers<unknown>();
    const done = this.lead(key, lookup, (signal) => fill(signal, early.resolve)).finally(() => this.inflight.delete(key));
    this.inflight.set(key, { done, early });
    return { done, early: early.promise as Promise<E> };
  }

  /**
   * Stops listening, aborts fills in progress (process shutdown, tests) and waits for them to end: a fill
   * whose bytes were already answered may still be storing them, and must not outlive the database.
   */
  async close(): Promise<void> {
    this.stopping.abort(new Error('the server is stopping'));
    await this.settled();
    const unlisten = await this.listening?.catch(() => undefined);
    await unlisten?.().catch(() => {});
  }

  private async lead<T>(key: string, lookup: () => Promise<T | undefined>, fill: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.soleProcess) {
      // A fill that ended between the caller's lookup and this one is not repeated.
      const found = await lookup();
      return found !== undefined ? found : fill(this.stopping.signal);
    }
    await this.listen();
    const deadline = Date.now() + this.maxWaitMs;
    for (;;) {
      // Subscribe before trying the lease, so a NOTIFY between the two is not lost.
      const notice = this.subscribe(key);
      try {
        if (await this.acquire(key)) {
          notice.cancel();
          return await this.hold(key, lookup, fill);
        }
        const n = await notice.next(this.pollMs);
        const found = await lookup();
        if (found !== undefined) return found;
        if (n?.e) throw rebuild(n.e);
      } finally {
        notice.cancel();
      }
      if (Date.now() > deadline) throw new UpstreamTimeout(`gave up after ${this.maxWaitMs} ms waiting for another server to fetch ${key}`);
    }
  }

  private async hold<T>(key: string, lookup: () => Promise<T | undefined>, fill: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const heartbeat = setInterval(() => {
      this.renew(key).catch((err) => this.log.warn('fetch lease renewal failed', { key, err }));
    }, this.heartbeatMs);
    let failure: Notice['e'];
    try {
      const found = await lookup();
      if (found !== undefined) return found;
      return await fill(this.stopping.signal);
    } catch (err) {
      failure = err instanceof AppError ? { s: err.status, m: err.message.slice(0, MAX_MESSAGE) } : { s: 502, m: 'the fetch failed' };
      throw err;
    } finally {
      clearInterval(heartbeat);
      await this.release(key, failure).catch((err) => this.log.warn('fetch lease release failed', { key, err }));
    }
  }

  /** Takes the key's lease when nobody holds it or its holder's lease has lapsed. */
  private async acquire(key: string): Promise<boolean> {
    const expiresAt = sql`now() + ${this.leaseMs} * interval '1 millisecond'`;
    const rows = await this.database.db
      .insert(fetchLeases)
      .values({ key, owner: this.owner, expiresAt })
      .onConflictDoUpdate({
        target: fetchLeases.key,
        set: { owner: this.owner, expiresAt },
        setWhere: lt(fetchLeases.expiresAt, sql`now()`),
      })
      .returning({ owner: fetchLeases.owner });
    return rows.length > 0;
  }

  private async renew(key: string): Promise<void> {
    const rows = await this.database.db
      .update(fetchLeases)
      .set({ expiresAt: sql`now() + ${this.leaseMs} * interval '1 millisecond'` })
      .where(and(eq(fetchLeases.key, key), eq(fetchLeases.owner, this.owner)))
      .returning({ key: fetchLeases.key });
    // Another process took the key over (we stalled past the lease): both fills store the same content, so carry on.
    if (rows.length === 0) this.log.warn('fetch lease was taken over by another process', { key });
  }

  private async release(key: string, failure: Notice['e']): Promise<void> {
    await this.database.db.delete(fetchLeases).where(and(eq(fetchLeases.key, key), eq(fetchLeases.owner, this.owner)));
    const notice: Notice = { k: key, ...(failure ? { e: failure } : {}) };
    await this.database.notify(CHANNEL, JSON.stringify(notice));
  }

  private listen(): Promise<Unlisten | undefined> {
    this.listening ??= this.database
      .listen(CHANNEL, (payload) => {
        let n: Notice;
        try {
          n = JSON.parse(payload) as Notice;
        } catch {
          return;
        }
        for (const wake of this.waiters.get(n.k) ?? []) wake(n);
      })
      .catch((err) => {
        // Waiters still poll: slower, not wrong.
        this.log.warn('LISTEN for fetch notifications failed; waiters fall back to polling', { err });
        return undefined;
      });
    return this.listening;
  }

  private subscribe(key: string) {
    let received: Notice | undefined;
    let wake: ((n: Notice | undefined) => void) | undefined;
    const onNotice = (n: Notice) => {
      received ??= n;
      wake?.(n);
    };
    let set = this.waiters.get(key);
    if (!set) this.waiters.set(key, (set = new Set()));
    set.add(onNotice);
    return {
      /** The first notice for key since subscribing, or undefined after ms. */
      next: (ms: number) =>
        new Promise<Notice | undefined>((resolve) => {
          if (received) return resolve(received);
          const timer = setTimeout(() => resolve(undefined), ms);
          wake = (n) => {
            clearTimeout(timer);
            resolve(n);
          };
        }),
      cancel: () => {
        set.delete(onNotice);
        if (set.size === 0 && this.waiters.get(key) === set) this.waiters.delete(key);
      },
    };
  }
}

/** Another process's failure, as the same kind of error it was there. */
function rebuild(e: { s: number; m: string }): AppError {
  if (e.s === 404) return new NotFound(e.m);
  // Only an upstream says 410; it means what 404 does (UpstreamMissing is a NotFound).
  if (e.s === 410) return new UpstreamMissing(410, e.m);
  if (e.s === 504) return new UpstreamTimeout(e.m);
  if (e.s === 502) return new BadUpstream(e.m);
  return new AppError(e.s, 'fetch_failed', e.m);
}
