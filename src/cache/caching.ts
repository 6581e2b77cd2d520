import type { InvalidationBus } from './invalidation';
import type { LruCache } from './lru';

/** What a caching decorator is given: the plugin instance's memory budget and its invalidation bus. */
export interface Caching {
  cache: LruCache;
  bus: InvalidationBus;
}
