/**
 * One memory budget per plugin instance, bounded by bytes, least recently used out first, split into
 * named regions (token principals, repository rows, grants, …) that share the budget. A region is what
 * a caching decorator holds; it never knows the others.
 *
 * Sizes are estimates (see estimateBytes), good enough to keep the total near the budget; they are read
 * by `stats()` for the metrics endpoint.
 */

import { DEFAULT_CACHE_BYTES } from '../config';

export { DEFAULT_CACHE_BYTES };

/** What one entry costs beyond its value: the Map slot, the key string, the entry object. */
const ENTRY_OVERHEAD = 96;

/** Rough bytes of a value in the JS heap: UTF-16 strings, 8-byte numbers, binary at its length. */
export function estimateBytes(value: unknown): number {
  if (value === null || value === undefined) return 8;
  switch (typeof value) {
    case 'string':
      return 16 + value.length * 2;
    case 'number':
    case 'boolean':
    case 'bigint':
      return 8;
    case 'object': {
      if (value instanceof Uint8Array) return 64 + value.byteLength;
      if (value instanceof Date) return 32;
      let n = 32;
      if (Array.isArray(value)) {
        for (const v of value) n += 8 + estimateBytes(v);
        return n;
      }
      for (const [k, v] of Object.entries(value)) n += 16 + k.length * 2 + estimateBytes(v);
      return n;
    }
    default:
      return 16;
  }
}

interface Entry {
  region: CacheRegion<unknown>;
  key: string;
  value: unknown;
  bytes: number;
  /** Date.now() after which the entry is not served; Infinity: until evicted or invalidated. */
  expiresAt: number;
  /** The entry read or written before this one, and after it: the cache's order of use, oldest first. */
  older: Entry | undefined;
  newer: Entry | undefined;
}

export interface RegionStats {
  name: string;
  entries: number;
  bytes: number;
  hits: number;
  misses: number;
}

export interface CacheStats {
  maxBytes: number;
  entries: number;
  bytes: number;
  regions: RegionStats[];
}

export class LruCache {
  /** Entries in all regions (each region keeps its own by key: a lookup hashes the caller's key, not a joined one). */
  private count = 0;
  /**
   * The entries in order of use, linked through the entries themselves: a hit is made the newest with a few
   * pointer writes. (Re-inserting it into the Map did that in the Map's own order, at the cost of a delete and
   * an insert of its key on a hit: in a small cache, where every hot entry is soon in the older half, on
   * nearly every warm answer.)
   */
  private oldest: Entry | undefined;
  private newest: Entry | undefined;
  private readonly regions = new Map<string, CacheRegion<unknown>>();
  private totalBytes = 0;

  readonly maxBytes: number;
  private readonly now: () => number;
  private readonly active: () => boolean;

  /**
   * maxBytes 0 turns caching off: every region then stores nothing and every read loads. While `active`
   * is false nothing is stored or served (the invalidation bus is not listening: an entry could go stale unheard).
   */
  constructor(opts: { maxBytes?: number; now?: () => number; active?: () => boolean } = {}) {
    this.maxBytes = opts.maxBytes ?? DEFAULT_CACHE_BYTES;
    this.now = opts.now ?? Date.now;
    this.active = opts.active ?? (() => true);
  }

  /** The region of this name, made on first use. ttlMs bounds how long any entry is served; empty: no bound. */
  region<V>(name: string, opts: { ttlMs?: number } = {}): CacheRegion<V> {
    let r = this.regions.get(name);
    if (!r) this.regions.set(name, (r = new CacheRegion<unknown>(this, name, opts.ttlMs ?? Number.POSITIVE_INFINITY)));
    return r as CacheRegion<V>;
  }

  get entries(): number {
    return this.count;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  stats(): CacheStats {
    return {
      maxBytes: this.maxBytes,
      entries: this.count,
      bytes: this.totalBytes,
      regions: [...this.regions.values()].map((r) => r.stats()),
    };
  }

  /** Drops everything (a lost LISTEN connection: notifications may have been missed). */
  clear(): void {
    for (const r of this.regions.values()) r.clear();
  }

  /** @internal */
  _get(region: CacheRegion<unknown>, key: string): Entry | undefined {
    const e = region._entries.get(key);
    if (!e) return undefined;
    if ((e.expiresAt !== Number.POSITIVE_INFINITY && e.expiresAt <= this.now()) || !this.active()) {
      this.remove(e);
      return undefined;
    }
    if (e !== this.newest) {
      this.unlink(e);
      this.link(e);
    }
    return e;
  }

  /** @internal */
  _set(region: CacheRegion<unknown>, key: string, value: unknown, bytes: number, entryTtlMs?: number): boolean {
    const old = region._entries.get(key);
    if (old) this.remove(old);
    if (!this.active()) return false;
    const cost = bytes + ENTRY_OVERHEAD + key.length * 2;
    // An entry bigger than an eighth of the budget would flush everything else for one value.
    if (cost > this.maxBytes / 8) return false;
    const ttl = Math.min(region.ttlMs, entryTtlMs ?? Number.POSITIVE_INFINITY);
    if (ttl <= 0) return false;
    const e: Entry = {
      region,
      key,
      value,
      bytes: cost,
      expiresAt: ttl === Number.POSITIVE_INFINITY ? ttl : this.now() + ttl,
      older: undefined,
      newer: undefined,
    };
    region._entries.set(key, e);
    this.count++;
    this.link(e);
    this.totalBytes += cost;
    region._account(1, cost);
    while (this.totalBytes > this.maxBytes && this.oldest) this.remove(this.oldest);
    return true;
  }

  /** @internal */
  _delete(region: CacheRegion<unknown>, key: string): void {
    const e = region._entries.get(key);
    if (e) this.remove(e);
  }

  /** @internal */
  _deleteWhere(region: CacheRegion<unknown>, pred: (value: unknown, key: string) => boolean): void {
    for (const e of region._entries.values()) if (pred(e.value, e.key)) this.remove(e);
  }

  /** Makes e the newest (it is in no list). */
  private link(e: Entry): void {
    e.older = this.newest;
    e.newer = undefined;
    if (this.newest) this.newest.newer = e;
    else this.oldest = e;
    this.newest = e;
  }

  /** Takes e out of the order of use. */
  private unlink(e: Entry): void {
    if (e.older) e.older.newer = e.newer;
    else this.oldest = e.newer;
    if (e.newer) e.newer.older = e.older;
    else this.newest = e.older;
    e.older = e.newer = undefined;
  }

  private remove(e: Entry): void {
    e.region._entries.delete(e.key);
    this.count--;
    this.unlink(e);
    this.totalBytes -= e.bytes;
    e.region._account(-1, -e.bytes);
  }
}

/**
 * A named part of an LruCache: string keys, values of one type. `load` is how decorators read:
 * concurrent misses of one key share one loader call, and a loader that started before an
 * invalidation of its region does not store what it read (it may be the value just invalidated).
 */
export class CacheRegion<V> {
  private entryCount = 0;
  private byteCount = 0;
  private hits = 0;
  private misses = 0;
  /** Bumped by every delete in the region: a load that saw another generation stores nothing. */
  private generation = 0;
  private readonly inflight = new Map<string, Promise<V | undefined>>();
  /** @internal This region's entries by key; the cache they share keeps their order of use and the budget. */
  readonly _entries = new Map<string, Entry>();

  constructor(
    private readonly cache: LruCache,
    readonly name: string,
    readonly ttlMs: number,
  ) {}

  get entries(): number {
    return this.entryCount;
  }

  get bytes(): number {
    return this.byteCount;
  }

  stats(): RegionStats {
    return { name: this.name, entries: this.entryCount, bytes: this.byteCount, hits: this.hits, misses: this.misses };
  }

  /** The cached value, or undefined (never cached, evicted, expired or invalidated). */
  get(key: string): V | undefined {
    const e = this.cache._get(this as CacheRegion<unknown>, key);
    if (e) this.hits++;
    else this.misses++;
    return e?.value as V | undefined;
  }

  /**
   * The cached value when there is one (a hit), else undefined counted as nothing: for a caller that
   * loads through load() next, which counts the miss.
   */
  peek(key: string): V | undefined {
    const e = this.cache._get(this as CacheRegion<unknown>, key);
    if (!e) return undefined;
    this.hits++;
    return e.value as V;
  }

  has(key: string): boolean {
    return this.cache._get(this as CacheRegion<unknown>, key) !== undefined;
  }

  /**
   * Stores value (bytes: its estimated size; empty: estimated here; ttlMs: how long this entry may be
   * served, never longer than the region's bound; 0 or less: not stored). False when not kept.
   */
  set(key: string, value: V, bytes: number = estimateBytes(value), ttlMs?: number): boolean {
    if (this.cache.maxBytes === 0) return false;
    return this.cache._set(this as CacheRegion<unknown>, key, value, bytes, ttlMs);
  }

  /**
   * The cached value, else what `loader` returns, stored unless it is undefined (absent things are not
   * remembered unless the loader returns a value that says so, such as null) or an invalidation of this
   * region happened while it ran. ttlOf, when given, says how long the value loaded may be served
   * (an answer whose source expires, such as a proxy's metadata row).
   */
  load(key: string, loader: () => Promise<V | undefined>, ttlOf?: (value: V) => number): Promise<V | undefined> {
    const e = this.cache._get(this as CacheRegion<unknown>, key);
    if (e) {
      this.hits++;
      return Promise.resolve(e.value as V);
    }
    this.misses++;
    const pending = this.inflight.get(key);
    if (pending) return pending;
    const generation = this.generation;
    const p = loader()
      .then((value) => {
        if (value !== undefined && generation === this.generation) this.set(key, value, undefined, ttlOf?.(value));
        return value;
      })
      .finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  delete(key: string): void {
    this.invalidated();
    this.cache._delete(this as CacheRegion<unknown>, key);
  }

  /** Drops every entry for which pred is true (scans the region: for writes, not for the hot path). */
  deleteWhere(pred: (value: V, key: string) => boolean): void {
    this.invalidated();
    this.cache._deleteWhere(this as CacheRegion<unknown>, pred as (value: unknown, key: string) => boolean);
  }

  clear(): void {
    this.deleteWhere(() => true);
  }

  /** @internal */
  _account(entries: number, bytes: number): void {
    this.entryCount += entries;
    this.byteCount += bytes;
  }

  private invalidated(): void {
    this.generation++;
    // A load already running must not hand its (possibly stale) result to callers who arrive after this.
    this.inflight.clear();
  }
}
