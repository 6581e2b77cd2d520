import type { DatabaseHandle, Unlisten } from '../db/open';
import type { Logger } from '../log';

/**
 * What changed, as every cache that may hold it understands it. Keys are strings a NOTIFY payload can
 * carry; each topic documents its key.
 */
export type InvalidationTopic =
  /** key: username. The user row changed (password, admin flag, disabled) or went; its tokens and grants with it. */
  | 'user'
  /** key: token id. The token was revoked (or made). */
  | 'token'
  /** key: repository id. The row changed or went: its members, the groups it is a member of, its grants. */
  | 'repository'
  /** key: `${repositoryId}:${username}`. A grant was given, changed or taken away. */
  | 'grant'
  /** Topics of the version caches (published versions, lists, negative answers): key as their owner documents it. */
  | (string & {});

/** One channel for every topic: a process LISTENs once. */
export const INVALIDATION_CHANNEL = 'orbitrepos_invalidate';

interface Payload {
  /** Topic. */
  t: string;
  /** Key. */
  k: string;
  /** The publishing bus, so it does not apply its own notification twice. */
  o: string;
}

type Handler = (key: string) => void;

/**
 * Invalidation of in-memory caches across every process that shares the database. `publish` drops
 * matching entries in this process at once (before it returns) and then NOTIFYs the others, which drop
 * theirs when the notification arrives (milliseconds on one PostgreSQL; PGlite is one process, so only
 * its own listeners exist).
 *
 * Publish after the write has committed: a process that reloads on the notification must read the new
 * row. A load that started before the notification stores nothing (CacheRegion.load), so a reload racing
 * with the write cannot put the old row back.
 *
 * When LISTEN cannot run, or its connection is lost and comes back, notifications may have been missed:
 * `onResync` handlers then drop everything (and, while not listening, caches are off: see `listening`).
 */
export class InvalidationBus {
  private readonly handlers = new Map<string, Set<Handler>>();
  private readonly resyncs = new Set<() => void>();
  private readonly id = crypto.randomUUID().slice(0, 12);
  private unlisten?: Unlisten;
  private started?: Promise<void>;
  private live = false;

  constructor(
    private readonly database: DatabaseHandle,
    private readonly log: Logger,
  ) {}

  /**
   * True while notifications from other processes arrive. Caches must not store while false: an entry
   * stored then could be changed elsewhere without this process ever hearing of it.
   */
  get listening(): boolean {
    return this.live;
  }

  /** LISTENs on the channel; resolves when notifications flow (or LISTEN failed, logged: caches stay off). */
  start(): Promise<void> {
    this.started ??= this.database
      .listen(INVALIDATION_CHANNEL, (raw) => this.receive(raw), {
        // Called on the first LISTEN and again after every reconnect: what happened in between is unknown.
        onListen: () => {
          if (this.live) this.resync();
          this.live = true;
        },
      })
      .then((unlisten) => {
        this.unlisten = unlisten;
        this.live = true;
      })
      .catch((err) => {
        this.log.warn('LISTEN for cache invalidations failed: in-memory caches are off', { err: err as Error });
      });
    return this.started;
  }

  /** Handler runs for every key published on topic, from this process or another. Returns the unsubscribe. */
  subscribe(topic: InvalidationTopic, handler: Handler): () => void {
    let set = this.handlers.get(topic);
    if (!set) this.handlers.set(topic, (set = new Set()));
    set.add(handler);
    return () => set.delete(handler);
  }

  /** Runs when every cache must be dropped (a reconnect of the LISTEN connection). */
  onResync(handler: () => void): () => void {
    this.resyncs.add(handler);
    return () => this.resyncs.delete(handler);
  }

  /** Invalidates key of topic here at once and in every other process within moments. */
  async publish(topic: InvalidationTopic, key: string): Promise<void> {
    this.apply(topic, key);
    const payload: Payload = { t: topic, k: key, o: this.id };
    try {
      await this.database.notify(INVALIDATION_CHANNEL, JSON.stringify(payload));
    } catch (err) {
      // The write has happened; other processes would keep a stale entry. Say so loudly.
      this.log.error('could not NOTIFY a cache invalidation: other processes may serve a stale entry', {
        topic,
        key,
        err: err as Error,
      });
    }
  }

  async close(): Promise<void> {
    this.live = false;
    await this.started;
    await this.unlisten?.().catch(() => {});
    this.unlisten = undefined;
  }

  private receive(raw: string): void {
    let p: Payload;
    try {
      p = JSON.parse(raw) as Payload;
    } catch {
      return;
    }
    if (p.o === this.id || typeof p.t !== 'string' || typeof p.k !== 'string') return;
    this.apply(p.t, p.k);
  }

  private apply(topic: string, key: string): void {
    for (const h of this.handlers.get(topic) ?? []) {
      try {
        h(key);
      } catch (err) {
        this.log.error('a cache invalidation handler failed', { topic, key, err: err as Error });
      }
    }
  }

  private resync(): void {
    this.log.warn('the LISTEN connection came back: dropping in-memory caches, invalidations may have been missed');
    for (const h of this.resyncs) h();
  }
}
