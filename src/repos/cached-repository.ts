import type { Caching } from '../cache/caching';
import type { CacheRegion } from '../cache/lru';
import { NotFound } from '../errors';
import { isCanonicalVersion } from '../goproxy/version';
import { type Expiring, type ExpiringLists, hasExpiringLists, notFoundFreshness } from './expiring';
import type { Actor, GoFile, GoRepository, ModuleReader, UploadKind, UploadResult } from './repository';

/** Bus topic of the version caches. Key: `${repositoryId}:${module}`; published after any write to that module's versions. */
export const MODULE_TOPIC = 'module';

type ReadKind = 'list' | 'latest' | 'info' | 'mod' | 'zip';

/** One remembered answer of one repository: the value, or the message of its NotFound. */
interface Stored {
  repositoryId: number;
  module: string;
  /** Group answers merge members': any write to the module, in any repository, drops them. */
  group: boolean;
  ok: boolean;
  value: unknown;
  /** Date.now() after which it is not served; Infinity: until invalidated. */
  expiresAt: number;
}

const forever = <T>(value: T): Expiring<T> => ({ value, freshForMs: Number.POSITIVE_INFINITY });

/**
 * The answers of the reading methods (list, @latest, .info, .mod, .zip) of every repository, kept in
 * memory: the per-version hot path of the GOPROXY protocol is a map lookup, not database queries and a
 * storage stat. Made once per plugin instance (src/context.ts); `wrap` decorates each repository the
 * registry builds.
 *
 * What is kept, and until when:
 * - hosted: every answer, found or NotFound, until a write to the module (publish, `allow` replacement,
 *   delete) publishes MODULE_TOPIC. A published version's .info text, and its .mod and .zip as GoFile
 *   (blob key, size, ETag; the body still streams from storage on every request);
 * - proxy: .info/.mod/.zip of a canonical version once stored, until evicted; list, @latest and remembered
 *   upstream 404s no longer than their metadata row is fresh (an in-memory copy must not outlive it);
 *   version queries (branches, "v1.2") are not kept;
 * - group: the merged list and @latest, as long as the shortest-lived member answer, dropped by any write
 *   to the module in any repository and by any repository change (members). A group's .info/.mod/.zip are
 *   not kept here: they come from its members' kept answers.
 * A repository edit or delete (topic `repository`) drops that repository's answers and every group's.
 */
export class VersionCache {
  private readonly answers: CacheRegion<Stored>;

  constructor(private readonly caching: Caching) {
    this.answers = caching.cache.region<Stored>('repos.answers');
    caching.bus.subscribe(MODULE_TOPIC, (key) => {
      const at = key.indexOf(':');
      const id = Number(key.slice(0, at));
      const module = key.slice(at + 1);
      this.answers.deleteWhere((s) => s.module === module && (s.group || s.repositoryId === id));
    });
    caching.bus.subscribe('repository', (key) => {
      const id = Number(key);
      this.answers.deleteWhere((s) => s.group || s.repositoryId === id);
    });
  }

  wrap(repo: GoRepository): GoRepository {
    return cachedRepository(repo, this);
  }

  /** Invalidates a module's answers of one repository here and in every process (after the write committed). */
  changed(repositoryId: number, module: string): Promise<void> {
    return this.caching.bus.publish(MODULE_TOPIC, `${repositoryId}:${module}`);
  }

  /** @internal The answer, from memory or from load (kept as long as load says). */
  async read<T>(
    repo: GoRepository,
    kind: ReadKind,
    module: string,
    version: string,
    load: () => Promise<Expiring<T>>,
  ): Promise<Expiring<T>> {
    const key = `${repo.row.id}\u0001${kind}\u0001${module}\u0001${version}`;
    const stored = await this.answers.load(
      key,
      async () => {
        const base = { repositoryId: repo.row.id, module, group: repo.row.type === 'group' };
        try {
          const got = await load();
          return { ...base, ok: true, value: got.value, expiresAt: Date.now() + got.freshForMs };
        } catch (err) {
          const freshForMs = rememberable(err, repo);
          if (freshForMs === undefined) throw err;
          return { ...base, ok: false, value: (err as Error).message, expiresAt: Date.now() + freshForMs };
        }
      },
      (s) => s.expiresAt - Date.now(),
    );
    const freshForMs = stored!.expiresAt - Date.now();
    if (!stored!.ok) throw Object.assign(new NotFound(stored!.value as string), { freshForMs: Math.max(0, freshForMs) });
    return { value: stored!.value as T, freshForMs: Math.max(0, freshForMs) };
  }
}

/**
 * How long a NotFound may be remembered, or undefined when it must not be: a hosted repository's
 * (plain NotFound) until the next write to the module; a remembered upstream 404 for its freshness.
 * A fresh upstream 404/410 (UpstreamMissing) is not: the metadata row it leaves answers the next request.
 * A group's plain NotFound means every member's absence lasts until a write (else group.ts makes it Remembered).
 */
function rememberable(err: unknown, repo: GoRepository): number | undefined {
  const remembered = notFoundFreshness(err);
  if (err instanceof NotFound && remembered !== undefined) return remembered;
  if (!(err instanceof NotFound) || err.constructor !== NotFound) return undefined;
  if (repo.row.type === 'hosted' || repo.row.type === 'group') return Number.POSITIVE_INFINITY;
  return notFoundFreshness(err);
}

/**
 * One repository with its reading role answered through the VersionCache; its publishing and removing
 * roles invalidate the module they wrote. Groups read through another group (nested) are not cached:
 * only the outermost answer is kept, so a member loop made by concurrent edits still ends in
 * GroupTooDeep instead of waiting on itself.
 */
export function cachedRepository(repo: GoRepository, cache: VersionCache): GoRepository {
  const { publisher, remover } = repo;
  const id = repo.row.id;
  return {
    row: repo.row,
    reader: new CachedReader(repo, cache),
    checksums: repo.checksums,
    publisher: publisher && {
      async upload(
        module: string,
        version: string,
        kind: UploadKind,
        body: ReadableStream<Uint8Array>,
        actor: Actor,
      ): Promise<UploadResult> {
        try {
          return await publisher.upload(module, version, kind, body, actor);
        } finally {
          // Even when it failed: a replacement (`allow`) may have committed before a later step (the audit) threw.
          if (kind === 'zip') await cache.changed(id, module);
        }
      },
    },
    remover: remover && {
      async deleteVersion(module: string, version: string, actor: Actor): Promise<void> {
        try {
          await remover.deleteVersion(module, version, actor);
        } finally {
          // Also after a NotFound: a proxy's eviction drops remembered 404s even when no row was there.
          await cache.changed(id, module);
        }
      },
    },
  };
}

class CachedReader implements ModuleReader, ExpiringLists {
  constructor(
    private readonly repo: GoRepository,
    private readonly cache: VersionCache,
  ) {}

  async list(module: string): Promise<string[]> {
    return (await this.listExpiring(module)).value;
  }

  async latest(module: string): Promise<string> {
    return (await this.latestExpiring(module)).value;
  }

  listExpiring(module: string): Promise<Expiring<string[]>> {
    const inner = this.repo.reader;
    const load = hasExpiringLists(inner) ? () => inner.listExpiring(module) : async () => forever(await inner.list(module));
    return this.cache.read(this.repo, 'list', module, '', load);
  }

  latestExpiring(module: string): Promise<Expiring<string>> {
    const inner = this.repo.reader;
    const load = hasExpiringLists(inner) ? () => inner.latestExpiring(module) : async () => forever(await inner.latest(module));
    return this.cache.read(this.repo, 'latest', module, '', load);
  }

  info(module: string, version: string): Promise<string> {
    return this.file('info', module, version, () => this.repo.reader.info(module, version));
  }

  mod(module: string, version: string): Promise<GoFile> {
    return this.file('mod', module, version, () => this.repo.reader.mod(module, version));
  }

  zip(module: string, version: string): Promise<GoFile> {
    return this.file('zip', module, version, () => this.repo.reader.zip(module, version));
  }

  private async file<T>(kind: 'info' | 'mod' | 'zip', module: string, version: string, read: () => Promise<T>): Promise<T> {
    const type = this.repo.row.type;
    // Groups: their members' answers are kept. Proxy version queries resolve differently over time.
    if (type === 'group' || (type === 'proxy' && !isCanonicalVersion(version))) return read();
    return (await this.cache.read(this.repo, kind, module, version, async () => forever(await read()))).value;
  }
}
