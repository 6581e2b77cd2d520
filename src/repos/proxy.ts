import type { Database } from '../db/open';
import { type ModuleVersionRow, moduleVersions, type RepositoryRow } from '../db/schema';
import { BadUpstream, NotFound, UpstreamMissing } from '../errors';
import { goModHash } from '../goproxy/dirhash';
import { formatInfo, type GoInfo, InvalidInfoError, parseInfo } from '../goproxy/info';
import { goPaths } from '../goproxy/request-path';
import { type SumdbRecord, sumdbLookupModule } from '../goproxy/sumdb-record';
import {
  isCanonicalVersion,
  isPseudoVersion,
  type LatestCandidate,
  latestFromList,
  parseVersionList,
  passThroughVersions,
  pseudoVersionTime,
  selectLatest,
} from '../goproxy/version';
import { DEFAULT_ZIP_LIMITS } from '../goproxy/zip-check';
import type { CacheOutcome } from '../observability/metrics';
import { warnOutage } from '../observability/outage-log';
import { noteCacheOutcome } from '../observability/request-scope';
import { commitBlob, stageBlob } from '../storage/content-addressed';
import { ArrivingBody, arrivingFile, type FirstClient } from './arriving';
import { withBlobWriteFence } from './blob-fence';
import { ChecksumCheck } from './checksum-check';
import type { FetchCoalescer } from './coalesce';
import type { RepoDeps } from './deps';
import { absentUntil, type Expiring, type ExpiringReader, notFoundUntil, UNTIL_WRITTEN } from './expiring';
import { blobGoFileAt, bytesGoFile } from './go-file';
import { repositoryGosumdb } from './gosumdb';
import { observedFetch } from './observed-fetch';
import { proxyAdmits, refusedByRules } from './path-routing';
import { type AnswerPolicy, IMMUTABLE_TTL_SECONDS, missingAnswer, ProxyMetadataCache } from './proxy-cache';
import {
  type Actor,
  CACHE_IMMUTABLE,
  CACHE_SHORT,
  type ChecksumRelay,
  type DeleteOptions,
  type GoFile,
  type GoRepository,
  type ModuleReader,
  type SumdbAnswer,
  type VersionRemover,
} from './repository';
import { DEFAULT_CONNECT_TIMEOUT_MS, isUpstreamFailure, UpstreamClient } from './upstream';
import { deleteVersionAudited, findVersionRow, listVersionTimes, type NewVersionRow } from './version-rows';
import { fillZip } from './zip-fill';

export const DEFAULT_METADATA_TTL_SECONDS = 300;
export const DEFAULT_NEGATIVE_TTL_SECONDS = 60;
/** The checksum database's signed head moves every few seconds; an older one is still valid, so a minute is plenty. */
const SUMDB_LATEST_TTL_SECONDS = 60;
const MAX_INFO_BYTES = 1 << 20;
/** The go command's own go.mod limit. */
const MAX_MOD_BYTES = DEFAULT_ZIP_LIMITS.maxGoMod;
const MAX_LIST_BYTES = 16 << 20;
const MAX_SUMDB_BYTES = 1 << 20;

type FileKind = 'info' | 'mod' | 'zip';
const KEY_COLUMN = { info: 'infoKey', mod: 'modKey', zip: 'zipKey' } as const;
const STORED = Symbol('stored');

const q = (s: string) => JSON.stringify(s);
const decode = (b: Uint8Array) => new TextDecoder().decode(b);
const encode = (s: string) => new TextEncoder().encode(s);

/**
 * A caching proxy of one upstream GOPROXY. Immutable files (.info, .mod, .zip of a canonical
 * version) are fetched once, checked, stored content-addressed and served from storage ever after;
 * list, @latest and checksum-database answers live in the metadata cache with a TTL and outlive
 * upstream failures. Every upstream fetch is coalesced (FetchCoalescer, process-wide and across
 * processes): the repository says what to fetch and where it lands, the coalescer how often.
 */
export class ProxyRepository implements GoRepository, ModuleReader, ExpiringReader, VersionRemover, ChecksumRelay {
  readonly reader: ModuleReader = this;
  readonly remover: VersionRemover = this;
  readonly checksums: ChecksumRelay = this;
  private readonly upstream: UpstreamClient;
  private readonly coalescer: FetchCoalescer;
  private readonly cache: ProxyMetadataCache;
  private readonly policy: AnswerPolicy;
  /** Undefined: no checksum database is known to this server. */
  private readonly checksum?: ChecksumCheck;

  constructor(
    readonly row: RepositoryRow,
    private readonly deps: RepoDeps,
  ) {
    if (!row.remoteUrl) throw new Error(`proxy repository ${row.name} has no remoteUrl`);
    const s = row.settings ?? {};
    this.upstream = new UpstreamClient({
      baseUrl: row.remoteUrl,
      username: s.upstreamUsername,
      password: s.upstreamPassword,
      connectTimeoutMs: s.connectTimeoutMs,
      responseTimeoutMs: s.responseTimeoutMs,
      fetch: observedFetch(deps, row.name),
    });
    this.coalescer = deps.coalescer;
    this.cache = new ProxyMetadataCache(deps.db, row.id, this.coalescer, deps.log, (outcome) => this.observe(outcome), row.name);
    this.policy = {
      ttlSeconds: s.metadataTtlSeconds ?? DEFAULT_METADATA_TTL_SECONDS,
      negativeTtlSeconds: s.negativeTtlSeconds ?? DEFAULT_NEGATIVE_TTL_SECONDS,
      // A build should not sit out a hanging upstream's full timeout when a good answer is at hand.
      staleAfterMs: s.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    };
    // The repository's own database (checked when written), else the server's.
    const gosumdb = s.gosumdb ? repositoryGosumdb(s.gosumdb) : deps.gosumdb;
    if (gosumdb)
      this.checksum = new ChecksumCheck({
        gosumdb,
        repository: row.name,
        verification: s.checksumVerification,
        noSumdbPatterns: s.noSumdbPatterns,
        relay: async (name, rest) => (await this.sumdb(name, rest)).body,
        cache: this.cache,
        policy: this.policy,
        log: deps.log,
        fetch: observedFetch(deps, row.name),
        refused: (reason) => deps.metrics.checksumRefusal(row.name, reason),
      });
  }

  /** A path the repository's rules keep from the upstream is a 404 before anything is looked up (path-routing.ts). */
  private admit(module: string): void {
    // Holds until the row's rules change (which drops every copy of this repository's answers).
    if (!proxyAdmits(this.row, module)) throw absentUntil(refusedByRules(this.row, module), UNTIL_WRITTEN);
  }

  async list(module: string): Promise<string[]> {
    return (await this.listExpiring(module)).value;
  }

  async latest(module: string): Promise<string> {
    return (await this.latestExpiring(module)).value;
  }

  /** The list, true until its metadata row expires (a copy served from memory lasts no longer). */
  async listExpiring(module: string): Promise<Expiring<string[]>> {
    this.admit(module);
    const { value, until } = await this.listed(module);
    return { value: passThroughVersions(value.map((c) => c.version)), until };
  }

  /** The upstream's @v/list lines (version and any time), else, the upstream down, the versions cached here. */
  private async listed(module: string): Promise<Expiring<LatestCandidate[]>> {
    try {
      const got = await this.cache.answer(`list:${module}`, this.policy, (signal) =>
        this.upstream.bytes(goPaths.list(module), signal, MAX_LIST_BYTES),
      );
      return { value: parseVersionList(decode(got.body)), until: got.until };
    } catch (err) {
      // Never listed before and the upstream is down: the versions cached here are better than nothing.
      const cached = isUpstreamFailure(err) ? await listVersionTimes(this.deps.db, this.row.id, module) : [];
      if (cached.length === 0) throw err;
      warnOutage(this.deps.log, this.row.name, 'upstream failed; listing the versions cached here', { module, err });
      // Not kept: the next request tries the upstream again.
      return { value: cached.map((v) => ({ version: v.version })), until: 0 };
    }
  }

  /** @latest, true until its metadata row (or, answered from the list, the list's and the 404's rows) expires. */
  async latestExpiring(module: string): Promise<Expiring<string>> {
    this.admit(module);
    try {
      const got = await this.cache.answer(`latest:${module}`, this.policy, async (signal) => {
        const res = await this.upstream.bytes(goPaths.latest(module), signal, MAX_INFO_BYTES);
        upstreamInfo(res.bytes, res.url);
        return res;
      });
      return { value: decode(got.body), until: got.until };
    } catch (err) {
      // An upstream without @latest (static or mirrored GOPROXY, 404/410): the go command then picks from
      // the list itself (release, prerelease, newest pseudo-version), and so must we, or untagged modules never resolve.
      if (err instanceof NotFound) {
        const listed = await this.listed(module);
        const until = Math.min(notFoundUntil(err) ?? 0, listed.until);
        const version = latestFromList(listed.value);
        if (!version) throw absentUntil(err, until);
        const info = await this.infoExpiring(module, version);
        return { value: info.value, until: Math.min(until, info.until) };
      }
      const best = isUpstreamFailure(err) ? selectLatest(await listVersionTimes(this.deps.db, this.row.id, module)) : undefined;
      if (!best) throw err;
      warnOutage(this.deps.log, this.row.name, 'upstream failed; answering @latest from the versions cached here', { module, err });
      return { value: formatInfo(best.version, best.time), until: 0 };
    }
  }

  async info(module: string, version: string): Promise<string> {
    return (await this.infoExpiring(module, version)).value;
  }

  /** A stored version's .info lasts until evicted; a query's answer until its metadata row expires. */
  private async infoExpiring(module: string, version: string): Promise<Expiring<string>> {
    this.admit(module);
    // A query (branch, commit, "v1.2") resolves differently over time: cached with the metadata TTL, not forever.
    if (!isCanonicalVersion(version)) {
      const got = await this.cache.answer(`query:${module}@${version}`, this.policy, async (signal) => {
        const res = await this.upstream.bytes(goPaths.file(module, version, 'info'), signal, MAX_INFO_BYTES);
        upstreamInfo(res.bytes, res.url);
        return res;
      });
      return { value: decode(got.body), until: got.until };
    }
    const got = await this.checkedFile(module, version, 'info');
    // The go command asks a version's .mod right after its .info (go get, go mod download): fetched meanwhile,
    // its request joins this fill instead of starting one more round trip to the upstream after it.
    if ('bytes' in got || !got.row.modKey) this.checkedFile(module, version, 'mod').catch(() => {});
    const bytes =
      'bytes' in got ? got.bytes : new Uint8Array(await new Response(await this.deps.storage.get(got.row.infoKey!)).arrayBuffer());
    return { value: decode(bytes), until: UNTIL_WRITTEN };
  }

  async mod(module: string, version: string): Promise<GoFile> {
    this.admit(module);
    const got = await this.checkedFile(module, version, 'mod');
    return 'bytes' in got ? bytesGoFile(got.bytes) : blobGoFileAt(this.deps.storage, got.row.modKey!);
  }

  /**
   * A stored zip; a cold one is streamed to this caller as it arrives when this caller's request runs the
   * fill (arriving.ts). Callers waiting on a fill run by another request (here or in another process) get
   * the stored file once it is checked; a failure before the upstream's bytes start is thrown as always.
   */
  async zip(module: string, version: string): Promise<GoFile> {
    this.admit(module);
    const tap = new ArrivingBody((stallMs) =>
      this.deps.log.warn('a client stopped reading a streamed zip fill; it was cut loose and the fill went on', {
        repository: this.row.name,
        module,
        version,
        stallMs,
      }),
    );
    const checked = Promise.withResolvers<Uint8Array<ArrayBuffer>>();
    const filled = this.cachedFile(module, version, 'zip', { tap, checked: checked.resolve });
    const stored = filled.then((row) => blobGoFileAt(this.deps.storage, row.zipKey!, { size: row.zipSize!, sha256: row.zipSha256! }));
    // A failure aborts the client's body once the fill has let go of its key (so the client's retry fetches anew),
    // and reaches whoever asks stored(); never an unhandled rejection.
    stored.catch(() => {});
    const length = await Promise.race([stored.then((): typeof STORED => STORED), tap.began, checked.promise]);
    if (length === STORED) return stored;
    // A small zip, checked in memory: answered from there while it is stored (zip-fill.ts).
    if (length instanceof Uint8Array) return { ...bytesGoFile(length), transient: true };
    stored.catch((err) => {
      // A client that has the whole file was answered; the fill logged its failure to store it.
      if (tap.delivered) return;
      this.deps.log.warn('a zip fill streamed to its client failed; the transfer was aborted and nothing was stored', {
        repository: this.row.name,
        module,
        version,
        err,
      });
      tap.fail();
    });
    return arrivingFile(tap, length, stored);
  }

  /** Evicts a cached version: the next request fetches it from the upstream again. Blobs stay; they may be shared. */
  async deleteVersion(module: string, version: string, actor: Actor, opts: DeleteOptions = {}): Promise<void> {
    // A fill of this version answered before it was stored would write its row after the delete.
    await this.coalescer.settled(fileKey(this.row.id, module, version, ''));
    const row = await deleteVersionAudited(this.deps, this.row, module, version, actor, undefined, opts);
    for (const kind of ['info', 'mod', 'zip'] as const) await this.cache.delete(missingKey(kind, module, version));
    if (!row) throw new NotFound(`${module}@${version} is not cached in repository ${q(this.row.name)}`);
  }

  /**
   * The checksum database through the upstream's /sumdb/ (the GOPROXY protocol's sumdb proxying).
   * Tiles and lookups never change once served; `latest` moves, `supported` may.
   */
  async sumdb(name: string, rest: string): Promise<SumdbAnswer> {
    const looked = sumdbLookupModule(rest);
    if (looked !== undefined) this.admit(looked);
    const immutable = rest.startsWith('tile/') || rest.startsWith('lookup/');
    const policy: AnswerPolicy = immutable
      ? { ...this.policy, ttlSeconds: IMMUTABLE_TTL_SECONDS }
      : rest === 'latest'
        ? { ...this.policy, ttlSeconds: Math.min(this.policy.ttlSeconds, SUMDB_LATEST_TTL_SECONDS) }
        : this.policy;
    const got = await this.cache.answer(`sumdb:${name}/${rest}`, policy, (signal) =>
      this.upstream.bytes(goPaths.sumdb(name, rest), signal, MAX_SUMDB_BYTES),
    );
    const tile = rest.startsWith('tile/');
    return {
      body: rest === 'supported' ? new Uint8Array(0) : got.body,
      contentType: tile ? 'application/octet-stream' : 'text/plain; charset=utf-8',
      cacheControl: immutable ? CACHE_IMMUTABLE : CACHE_SHORT,
    };
  }

  /** A cache outcome goes to the metrics and to the request's access-log line. */
  private observe(outcome: CacheOutcome): void {
    this.deps.metrics.cache(this.row.name, outcome);
    noteCacheOutcome(outcome);
  }

  /**
   * A small file (.info, .mod) as soon as it is known good: the stored row, or, for the requests of this
   * process that run or join its fill, the upstream's bytes once checked, while they are stored (storage's
   * fsyncs and the row's write, about half of a fill, are then off the go command's path; a request after
   * the fill finds the stored copy). A store that fails after the answer is logged, and the next request
   * fetches anew.
   */
  private async checkedFile(
    module: string,
    version: string,
    kind: 'info' | 'mod',
  ): Promise<{ row: ModuleVersionRow } | { bytes: Uint8Array<ArrayBuffer> }> {
    const checked = Promise.withResolvers<Uint8Array<ArrayBuffer>>();
    const filled = this.cachedFile(module, version, kind, { checked: checked.resolve });
    const first = await Promise.race([filled.then((row) => ({ row })), checked.promise.then((bytes) => ({ bytes }))]);
    // Answered: the fill's failure to store (logged by the fill) reaches no one.
    if ('bytes' in first) filled.catch(() => {});
    return first;
  }

  /** The row once it has `kind`'s blob: from storage, else after one coalesced upstream fetch. */
  private async cachedFile(module: string, version: string, kind: FileKind, first?: FirstClient): Promise<ModuleVersionRow> {
    const lookup = async () => {
      const row = await findVersionRow(this.deps.db, this.row.id, module, version);
      return row?.[KEY_COLUMN[kind]] ? row : undefined;
    };
    const hit = await lookup();
    if (hit) {
      this.observe('hit');
      return hit;
    }
    // The go command probes every path prefix of an import path; a remembered 404 spares the upstream.
    const missing = await this.cache.get(missingKey(kind, module, version));
    if (missing?.fresh && missing.status !== 200) {
      this.observe('negative_hit');
      throw missingAnswer(missing);
    }
    // A go.mod's checksum lookup goes out beside it, not after it: one round trip to the upstream, not two.
    if (kind === 'mod') this.checksum?.prefetch(module, version);
    // Only the caller whose fill runs fetched; the others waited on a fill (here or in another process).
    // Noted once, before an early answer goes out (the request's access-log line is written with its answer).
    let filled = false;
    let noted = false;
    const note = () => {
      if (!noted) this.observe(filled ? 'miss' : 'coalesced');
      noted = true;
    };
    const { done, early } = this.coalescer.share<ModuleVersionRow, Uint8Array<ArrayBuffer>>(
      fileKey(this.row.id, module, version, kind),
      lookup,
      (signal, checked) => {
        filled = true;
        return this.fillAndRemember(module, version, kind, signal, { tap: first?.tap, checked });
      },
    );
    // Checked bytes reach every caller of this fill in this process, the one that runs it and those joining it.
    const checked = first?.checked;
    if (checked) early.then((bytes) => (note(), checked(bytes)));
    try {
      return await done;
    } finally {
      note();
    }
  }

  private async fillAndRemember(
    module: string,
    version: string,
    kind: FileKind,
    signal: AbortSignal,
    first?: FirstClient,
  ): Promise<ModuleVersionRow> {
    const ended = this.deps.metrics.fillStarted(this.row.name, kind);
    const t0 = performance.now();
    let bytes = 0;
    let row: ModuleVersionRow;
    let failure: unknown;
    let answered = false;
    const told: FirstClient = { tap: first?.tap, checked: (b) => ((answered = true), first?.checked?.(b)) };
    try {
      try {
        ({ bytes, row } = await this.fill(module, version, kind, signal, told));
      } catch (err) {
        failure = err;
        // Its clients have their answer; what failed (storage, the database) concerns the operator.
        if (answered || first?.tap?.delivered)
          this.deps.log.warn('a checked file was answered but could not be stored; the next request fetches it again', {
            repository: this.row.name,
            module,
            version,
            kind,
            err,
          });
        if (err instanceof UpstreamMissing) {
          const body = encode(err.message);
          await this.cache.put(
            missingKey(kind, module, version),
            err.upstreamStatus,
            { bytes: body, contentType: null },
            this.policy.negativeTtlSeconds,
          );
        }
        throw err;
      }
      ended({ ok: true, bytes });
      return row;
    } finally {
      ended({ ok: false, bytes });
      // The cache miss as a whole, beside the upstream requests it made (same request id).
      this.deps.log.debug?.('proxy fill', {
        repository: this.row.name,
        module,
        version,
        kind,
        result: failure === undefined ? 'ok' : failure instanceof UpstreamMissing ? `upstream ${failure.upstreamStatus}` : 'error',
        bytes,
        durationMs: Math.round(performance.now() - t0),
        ...(failure !== undefined && !(failure instanceof UpstreamMissing) ? { err: failure as Error } : {}),
      });
    }
  }

  /**
   * Fetches, checks and stores one file; returns the bytes stored and the row as its write left it (what a
   * lookup after the fill would find, without reading it again).
   */
  private async fill(
    module: string,
    version: string,
    kind: FileKind,
    signal: AbortSignal,
    first?: FirstClient,
  ): Promise<{ bytes: number; row: ModuleVersionRow }> {
    const path = goPaths.file(module, version, kind);
    const out: { row?: ModuleVersionRow } = {};
    const written = (bytes: number) => {
      if (!out.row) throw new Error(`${module}@${version}.${kind} was stored but its row was not written`);
      return { bytes, row: out.row };
    };
    if (kind === 'zip') {
      const bytes = await fillZip(
        {
          storage: this.deps.storage,
          db: this.deps.db,
          upstream: this.upstream,
          fullGcEveryBytes: this.deps.fullGcEveryBytes,
          prefetchChecksum: () => this.checksum?.prefetch(module, version),
          verifyChecksum: (h1, url) => this.verifyChecksum(module, version, { h1 }, url),
          fillRow: async (tx, set) => {
            out.row = await this.fillRow(tx, module, version, set);
          },
        },
        module,
        version,
        path,
        signal,
        first,
      );
      return written(bytes);
    }
    const res = await this.upstream.bytes(path, signal, kind === 'info' ? MAX_INFO_BYTES : MAX_MOD_BYTES);
    if (kind === 'info') {
      const info = upstreamInfo(res.bytes, res.url);
      if (info.version !== version) throw new BadUpstream(`upstream ${res.url} answered version ${q(info.version)}, not ${version}`);
      const time = info.time ? new Date(info.time) : undefined;
      first?.checked?.(res.bytes);
      const staged = await stageBlob(this.deps.storage, res.bytes);
      await withBlobWriteFence(this.deps.db, async (tx) => {
        const key = await commitBlob(this.deps.storage, staged);
        out.row = await this.fillRow(tx, module, version, { infoKey: key, ...(time ? { time } : {}) });
      });
      return written(res.bytes.byteLength);
    }
    // Stored as served: whether its module line fits is the go command's call (a fork's go.mod names the
    // module it forks and is used through replace); the checksum database vouches for the bytes.
    const goModH1 = goModHash(module, version, res.bytes);
    await this.verifyChecksum(module, version, { goModH1 }, res.url);
    first?.checked?.(res.bytes);
    const staged = await stageBlob(this.deps.storage, res.bytes);
    await withBlobWriteFence(this.deps.db, async (tx) => {
      const key = await commitBlob(this.deps.storage, staged);
      out.row = await this.fillRow(tx, module, version, { modKey: key, goModH1 });
    });
    return written(res.bytes.byteLength);
  }

  /** Before a fetched zip or go.mod is stored: its hash must be the checksum database's record (checksum-check.ts). */
  private async verifyChecksum(module: string, version: string, got: SumdbRecord, url: string): Promise<void> {
    await this.checksum?.verify(module, version, got, url);
  }

  /**
   * Fills some columns of a version's row, creating it if needed. Only the given columns are set,
   * so concurrent fills of .info, .mod and .zip (other keys, maybe other processes) never undo
   * each other. Until .info arrives, the time is the pseudo-version's or now. Returns the row as written.
   */
  private async fillRow(db: Database, module: string, version: string, set: Partial<NewVersionRow>): Promise<ModuleVersionRow> {
    const time = set.time ?? (isPseudoVersion(version) ? pseudoVersionTime(version) : new Date());
    const [row] = await db
      .insert(moduleVersions)
      .values({ repositoryId: this.row.id, modulePath: module, version, origin: 'cached', ...set, time })
      .onConflictDoUpdate({
        target: [moduleVersions.repositoryId, moduleVersions.modulePath, moduleVersions.version],
        set,
      })
      .returning();
    return row!;
  }
}

/** The coalescing key of a file's fill; with kind '', the prefix of all three of a version's. */
function fileKey(repositoryId: number, module: string, version: string, kind: FileKind | ''): string {
  return `file:${repositoryId}:${module}@${version}.${kind}`;
}

function missingKey(kind: FileKind, module: string, version: string): string {
  return `missing:${kind}:${module}@${version}`;
}

/** An .info answer the go command would accept (goproxy/info.ts), else a 502 naming the upstream. */
function upstreamInfo(bytes: Uint8Array, url: string): GoInfo {
  try {
    return parseInfo(decode(bytes));
  } catch (err) {
    if (err instanceof InvalidInfoError) throw new BadUpstream(`upstream ${url} answered an .info that ${err.message}`);
    throw err;
  }
}
