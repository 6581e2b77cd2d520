import type { Caching } from '../cache/caching';
import type { CacheRegion } from '../cache/lru';
import type { RepositoryRow } from '../db/schema';
import { Gone, isGone, NotFound } from '../errors';
import { isCanonicalVersion } from '../goproxy/version';
import { type Metrics, noMetrics } from '../observability/metrics';
import { noteCacheOutcome } from '../observability/request-scope';
import {
  absentUntil,
  type Expiring,
  type ExpiringFiles,
  type ExpiringReader,
  type FileKind,
  hasExpiringFiles,
  isExpiringReader,
  notFoundUntil,
  UNTIL_WRITTEN,
} from './expiring';
import { bytesGoFile } from './go-file';
import { isDenial } from './group';
import type { MayReadMember, MayReadMemberNow } from './member-access';
import type {
  Actor,
  DeleteOptions,
  GoFile,
  GoRepository,
  GoRequestKind,
  GroupMembers,
  ModuleReader,
  Remembered,
  UploadKind,
  UploadResult,
} from './repository';

/** Bus topic of the version caches. Key: `${repositoryId}:${module}`; published after any write to that module's versions. */
export const MODULE_TOPIC = 'module';

type ReadKind = GoRequestKind;

/** One remembered answer of one repository: the value, or the message of its NotFound. */
interface Stored {
  repositoryId: number;
  module: string;
  /** Group answers merge members': any write to the module, in any repository, drops them. */
  group: boolean;
  ok: boolean;
  /** The answer, or the NotFound's message. */
  value: unknown;
  /** A remembered 410 (a deleted hosted version, an upstream's 410, a group's member's): passed on as a 410. */
  gone?: boolean;
  /** Date.now() after which it is not served; Infinity: until invalidated. */
  expiresAt: number;
  /**
   * The NotFound thrown for it, made once: a remembered 404 is answered as often as a hit, and a new error
   * per request (its stack) was most of the difference. Callers only narrow its `until` (absentUntil with a
   * minimum), which can only make an answer built on it kept for less time.
   */
  error?: Error;
}

/** An answer of a reader that cannot say how long it holds: a hosted one until written, any other not kept. */
const lasting =
  (repo: GoRepository) =>
  <T>(value: T): Expiring<T> => ({ value, until: repo.row.type === 'hosted' ? UNTIL_WRITTEN : 0 });

/**
 * The answers of the reading methods (list, @latest, .info, .mod, .zip) of every repository, kept in
 * memory: the per-version hot path of the GOPROXY protocol is a map lookup, not database queries and a
 * storage stat. Made once per plugin instance (src/context.ts); `wrap` decorates each repository the
 * registry builds.
 *
 * What is kept, and until when:
 * - hosted: every answer, found, NotFound or Gone, until a write to the module (publish, `allow`
 *   replacement, delete, a tombstone's purge) publishes MODULE_TOPIC. A published version's .info text,
 *   and its .mod and .zip as GoFile (blob key, size, ETag; the body read into memory once when it is at
 *   most 64 KiB, else streamed from storage on every request);
 * - proxy: .info/.mod/.zip of a canonical version once stored, until evicted; list, @latest and remembered
 *   upstream 404s until their metadata row expires (the entry's deadline is the row's: expiring.ts);
 *   version queries (branches, "v1.2") are not kept;
 * - group: every answer, keyed also by the members the caller may read (a member's content reaches only
 *   callers who may read it), as long as the shortest-lived member answer and absence it was made of;
 *   dropped by any write to the module in any repository and by any repository change (members, rows).
 * A repository edit or delete (topic `repository`) drops that repository's answers and every group's.
 */
export class VersionCache {
  private readonly answers: CacheRegion<Stored>;

  /** metrics: a proxy's answer from memory still counts as its cache hit (or negative hit), as from its rows. */
  constructor(
    private readonly caching: Caching,
    private readonly metrics: Metrics = noMetrics,
  ) {
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

  /**
   * @internal The answer, from memory or from load (kept until the deadline load gives). audience: for a
   * group, the members the caller may read (part of the key); undefined: do not keep, just load.
   */
  async read<T>(
    repo: GoRepository,
    kind: ReadKind,
    module: string,
    version: string,
    audience: string | undefined,
    load: () => Promise<Expiring<T>>,
  ): Promise<Expiring<T>> {
    if (audience === undefined) return load();
    let loaded = false;
    const stored = (await this.answers.load(
      answerKey(repo, kind, module, version, audience),
      async () => {
        loaded = true;
        const base = { repositoryId: repo.row.id, module, group: repo.row.type === 'group' };
        try {
          const got = await load();
          return { ...base, ok: true, value: got.value, expiresAt: got.until };
        } catch (err) {
          const until = rememberable(err, repo);
          if (until === undefined) throw err;
          const gone = isGone(err);
          return { ...base, ok: false, value: (err as Error).message, gone, expiresAt: until };
        }
      },
      // Asked when it is stored: the LRU's deadline is then exactly expiresAt.
      (s) => s.expiresAt - Date.now(),
    )) as Stored;
    if (!loaded) this.counted(repo, stored);
    if (!stored.ok) throw errorOf(stored);
    return { value: stored.value as T, until: stored.expiresAt };
  }

  /** @internal What read() would answer from memory, without loading, awaiting or throwing; undefined when not kept. */
  remembered(repo: GoRepository, kind: ReadKind, module: string, version: string, audience: string): Remembered | undefined {
    const stored = this.answers.peek(answerKey(repo, kind, module, version, audience));
    if (!stored) return undefined;
    this.counted(repo, stored);
    return stored.ok ? { value: stored.value } : { error: errorOf(stored) };
  }

  /** A proxy's answer from memory counts as its cache hit or negative hit. */
  private counted(repo: GoRepository, stored: Stored): void {
    if (repo.row.type !== 'proxy') return;
    const outcome = stored.ok ? 'hit' : 'negative_hit';
    this.metrics.cache(repo.row.name, outcome);
    noteCacheOutcome(outcome);
  }
}

function answerKey(repo: GoRepository, kind: ReadKind, module: string, version: string, audience: string): string {
  return `${repo.row.id}\u0001${kind}\u0001${module}\u0001${version}\u0001${audience}`;
}

/** The remembered NotFound or Gone of a stored absence, made once. */
function errorOf(stored: Stored): Error {
  const message = stored.value as string;
  stored.error ??= absentUntil(stored.gone ? new Gone(message) : new NotFound(message), stored.expiresAt);
  return stored.error;
}

/**
 * Until when a NotFound may be remembered, or undefined when it must not be: as its maker said (a proxy's
 * remembered upstream 404: its row's expiry; a group's: its members' shortest absence); a hosted
 * repository's plain NotFound or Gone until the next write to the module (or the purge of its tombstone).
 * Any other error is not remembered.
 */
function rememberable(err: unknown, repo: GoRepository): number | undefined {
  if (!(err instanceof NotFound)) return undefined;
  const until = notFoundUntil(err);
  if (until !== undefined) return until;
  const plain = err.constructor === NotFound || err.constructor === Gone;
  return repo.row.type === 'hosted' && plain ? UNTIL_WRITTEN : undefined;
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
  const members = repo.members && new Members(repo.members);
  return {
    row: repo.row,
    reader: new CachedReader(repo, cache, members),
    members,
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
      async deleteVersion(module: string, version: string, actor: Actor, opts?: DeleteOptions): Promise<void> {
        try {
          await remover.deleteVersion(module, version, actor, opts);
        } finally {
          // Also after a NotFound: a proxy's eviction drops remembered 404s even when no row was there.
          await cache.changed(id, module);
        }
      },
    },
  };
}

/** A group's members role, passed on, remembering whether the group is read through another one. */
class Members implements GroupMembers {
  nested = false;
  constructor(private readonly inner: GroupMembers) {}

  readingAs(mayRead: MayReadMember, mayReadNow?: MayReadMemberNow): void {
    this.inner.readingAs(mayRead, mayReadNow);
  }

  nestedIn(chain: string[]): void {
    this.nested = chain.length > 0;
    this.inner.nestedIn(chain);
  }

  get mayRead(): MayReadMember {
    return this.inner.mayRead;
  }

  get mayReadNow(): MayReadMemberNow | undefined {
    return this.inner.mayReadNow;
  }

  everyMemberAnonymousRead(): Promise<boolean> {
    return this.inner.everyMemberAnonymousRead();
  }

  hostedMembers(): Promise<string[]> {
    return this.inner.hostedMembers();
  }

  reachable() {
    return this.inner.reachable();
  }

  reachableNow() {
    return this.inner.reachableNow();
  }

  everyMemberAnonymousReadNow(): boolean | undefined {
    return this.inner.everyMemberAnonymousReadNow();
  }

  /**
   * audience() from memory, when the caller may read every reachable repository and that is known without an
   * await: then it is every reachable id, as audience() would say. Undefined otherwise (a member the caller may
   * not read, a grant not held, rows not in memory, or nested): audience() decides.
   */
  audienceNow(): string | undefined {
    if (this.nested) return undefined;
    const mayReadNow = this.inner.mayReadNow;
    const rows = mayReadNow && this.inner.reachableNow();
    if (!rows) return undefined;
    for (const r of rows) if (mayReadNow(r) !== true) return undefined;
    return idsOf(rows);
  }

  /**
   * The ids of the reachable repositories the caller may read: what a group's answer depends on besides
   * the rows themselves. Undefined (do not keep) when nested, or when a question failed (it fails again, uncached).
   */
  async audience(): Promise<string | undefined> {
    if (this.nested) return undefined;
    try {
      const rows = await this.inner.reachable();
      const mayRead = this.inner.mayRead;
      const verdicts = await Promise.all(
        rows.map((r) =>
          mayRead(r).then(
            () => true,
            (err: unknown) => {
              if (isDenial(err)) return false;
              throw err;
            },
          ),
        ),
      );
      return rows
        .filter((_, i) => verdicts[i])
        .map((r) => r.id)
        .join(',');
    } catch {
      return undefined;
    }
  }
}

/** The ids of rows, comma-separated, by array: a group of no groups reaches the same array on every request. */
const rowIds = new WeakMap<RepositoryRow[], string>();

function idsOf(rows: RepositoryRow[]): string {
  let ids = rowIds.get(rows);
  if (ids === undefined) rowIds.set(rows, (ids = rows.map((r) => r.id).join(',')));
  return ids;
}

class CachedReader implements ModuleReader, ExpiringReader, ExpiringFiles {
  constructor(
    private readonly repo: GoRepository,
    private readonly cache: VersionCache,
    private readonly members: Members | undefined,
  ) {}

  async list(module: string): Promise<string[]> {
    return (await this.listExpiring(module)).value;
  }

  async latest(module: string): Promise<string> {
    return (await this.latestExpiring(module)).value;
  }

  /** '' for a repository whose answers are the same for every caller; a group's readable members; undefined: not kept. */
  private audience(): Promise<string | undefined> | string {
    return this.members ? this.members.audience() : '';
  }

  async listExpiring(module: string): Promise<Expiring<string[]>> {
    const inner = this.repo.reader;
    const load = isExpiringReader(inner) ? () => inner.listExpiring(module) : async () => lasting(this.repo)(await inner.list(module));
    return this.cache.read(this.repo, 'list', module, '', await this.audience(), load);
  }

  async latestExpiring(module: string): Promise<Expiring<string>> {
    const inner = this.repo.reader;
    const load = isExpiringReader(inner) ? () => inner.latestExpiring(module) : async () => lasting(this.repo)(await inner.latest(module));
    return this.cache.read(this.repo, 'latest', module, '', await this.audience(), load);
  }

  remembered(kind: ReadKind, module: string, version: string): Remembered | undefined {
    // A group's answers are keyed by the members this caller may read: taken here only when that is known from memory.
    if (this.members) {
      const audience = this.members.audienceNow();
      return audience === undefined ? undefined : this.cache.remembered(this.repo, kind, module, version, audience);
    }
    // Proxy version queries (branches, "v1.2") are never kept (fileExpiring).
    if (this.repo.row.type === 'proxy' && version !== '' && !isCanonicalVersion(version)) return undefined;
    return this.cache.remembered(this.repo, kind, module, version, '');
  }

  async info(module: string, version: string): Promise<string> {
    return (await this.fileExpiring('info', module, version)).value as string;
  }

  async mod(module: string, version: string): Promise<GoFile> {
    return (await this.fileExpiring('mod', module, version)).value as GoFile;
  }

  async zip(module: string, version: string): Promise<GoFile> {
    return (await this.fileExpiring('zip', module, version)).value as GoFile;
  }

  async fileExpiring(kind: FileKind, module: string, version: string): Promise<Expiring<unknown>> {
    const inner = this.repo.reader;
    const loadInner = hasExpiringFiles(inner)
      ? () => inner.fileExpiring(kind, module, version)
      : // A stored version's files (hosted, or a proxy's canonical version) change only by a write or an eviction.
        async () => ({ value: await inner[kind](module, version), until: UNTIL_WRITTEN });
    // A transient file (still arriving, or a zip answered before it was stored) is for the callers of its fill.
    const load = async () => {
      const got = await loadInner();
      return (got.value as GoFile | undefined)?.transient ? { ...got, until: 0 } : got;
    };
    // Proxy version queries (branches, "v1.2") resolve differently over time.
    if (this.repo.row.type === 'proxy' && !isCanonicalVersion(version)) return { value: await inner[kind](module, version), until: 0 };
    const kept = kind === 'info' ? load : async () => inMemory(await load());
    return this.cache.read(this.repo, kind, module, version, await this.audience(), kept);
  }
}

/**
 * A .mod or .zip this small is kept in memory with its answer (a warm answer then needs no storage read):
 * most .mod files are a few hundred bytes, and many module zips a few KiB, where opening and sending a
 * stored file costs several times what the rest of the answer does. Bigger zips stream from storage.
 */
const IN_MEMORY_MAX_BYTES = 64 * 1024;

/**
 * A stored file with its bytes read once: served from memory like an .info (its GoFile is remembered with
 * its answer, so until the module is written to, and within the cache's byte budget). Not for an arriving
 * or transient file (size or ETag unknown, or for one fill's callers), nor one over IN_MEMORY_MAX_BYTES.
 * The file's `sent` goes with it (a zip's download is counted however it is sent).
 */
async function inMemory(got: Expiring<unknown>): Promise<Expiring<unknown>> {
  const file = got.value as GoFile;
  if (file.arriving || file.transient || !file.etag || file.size < 0 || file.size > IN_MEMORY_MAX_BYTES || file.bytes) return got;
  const bytes = new Uint8Array(await new Response(await file.open()).arrayBuffer());
  if (bytes.byteLength !== file.size) return got;
  const kept = bytesGoFile(bytes, file.etag);
  return { ...got, value: file.sent ? { ...kept, sent: file.sent } : kept };
}
