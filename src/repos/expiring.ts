/**
 * An answer with the moment after which a copy of it must not be served. Proxies answer list, @latest and
 * remembered 404s from metadata rows that expire (proxy-cache.ts): an in-memory copy must not outlive the
 * row it was read from, so the deadline is the row's expiry (as this process's clock sees it, measured
 * from before the row was read: never later than the row's own).
 */
export interface Expiring<T> {
  value: T;
  /** Date.now() after which no copy is served; Infinity: until a write invalidates it; 0: do not keep a copy. */
  until: number;
}

/** Never expires on its own: only a write (which invalidates) changes it. */
export const UNTIL_WRITTEN = Number.POSITIVE_INFINITY;

/** Readers whose answers expire on their own (proxies, and groups over anything). */
export interface ExpiringReader {
  listExpiring(module: string): Promise<Expiring<string[]>>;
  latestExpiring(module: string): Promise<Expiring<string>>;
}

export function isExpiringReader(reader: object): reader is ExpiringReader {
  return typeof (reader as Partial<ExpiringReader>).listExpiring === 'function';
}

/** The NotFound `err`, marked as true until `until` (a remembered 404's row expiry; Infinity: until written). */
export function absentUntil<E extends Error>(err: E, until: number): E {
  return Object.assign(err, { until });
}

/** How long a NotFound may be remembered, when its maker said so (absentUntil); else undefined. */
export function notFoundUntil(err: unknown): number | undefined {
  const until = (err as { until?: unknown })?.until;
  return typeof until === 'number' ? until : undefined;
}

export type FileKind = 'info' | 'mod' | 'zip';

/** Readers that say how long a version file's answer holds (groups: as long as the absences before it). */
export interface ExpiringFiles {
  /** info: the .info text; mod, zip: a GoFile. */
  fileExpiring(kind: FileKind, module: string, version: string): Promise<Expiring<unknown>>;
}

export function hasExpiringFiles(reader: object): reader is ExpiringFiles {
  return typeof (reader as Partial<ExpiringFiles>).fileExpiring === 'function';
}
