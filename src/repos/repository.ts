import type { Actor } from '../audit';
import type { RepositoryRow } from '../db/schema';
import type { MayReadMember, MayReadMemberNow } from './member-access';

/** Bytes start..end of a file, both inclusive and inside it (the caller checked them against its size). */
export interface FileRange {
  start: number;
  end: number;
}

/** A stored file ready to serve: size and validator known up front, body opened on demand. */
export interface GoFile {
  /** Bytes; for an arriving file the length its upstream announced, or -1. */
  size: number;
  /** Strong validator, quoted, e.g. `"sha256-…"`; empty for an arriving file (its hash is known only at the end). */
  etag: string;
  /** Opens the body, or a slice of it (range already validated by the caller against size). An arriving file waits until stored. */
  open(range?: FileRange): Promise<ReadableStream<Uint8Array>>;
  /**
   * The body, or a slice of it, as a Blob the HTTP server sends by itself (a local file: sendfile), when storage
   * can give one; undefined when it cannot or the blob is not there (open then streams it, or says why).
   */
  blob?(range?: FileRange): Blob | undefined;
  /** Set while the file is still arriving from an upstream (a proxy's cold fill): see Arriving. */
  arriving?: Arriving;
  /** The whole body, when it is held in memory (a small file that cannot change: see cached-repository.ts). */
  bytes?: Uint8Array<ArrayBuffer>;
  /**
   * For the callers of one fill only, never kept by a cache: a file still arriving, or a proxy's small zip
   * answered from memory before it was stored.
   */
  transient?: boolean;
  /**
   * Told each time the body, or a range of it, goes out to a client, whichever way it is sent (from memory,
   * as a file, or opened): download counting listens here (download-stats.ts). Not for a HEAD or a 304.
   */
  sent?(range?: FileRange): void;
}

/**
 * A file on its way from an upstream into storage, streamed to its first client (arriving.ts). Its
 * last bytes are held back until it is checked and stored; if that fails the body is aborted.
 */
export interface Arriving {
  /** Content-Length the upstream announced, or null. */
  length: number | null;
  /** The live body, to one caller only (the first plain GET); undefined for every later caller. */
  take(): ReadableStream<Uint8Array> | undefined;
  /** The file once checked and stored (declining the live body if not yet taken); rejects as the fill failed. */
  stored(): Promise<GoFile>;
}

export type { Actor };

export type UploadKind = 'zip' | 'mod' | 'info';

export interface UploadResult {
  module: string;
  version: string;
  /** True when the upload made the version visible (a .zip); false for a .mod/.info that only matched. */
  created: boolean;
  h1?: string;
  size?: number;
  /** Accepted, but worth telling the uploader (files the go command's own zip would leave out); absent when none. */
  notes?: string[];
}

/**
 * Reading modules: the GOPROXY protocol's GET side, which every kind of repository has. A plain
 * interface that knows nothing of HTTP or of who is asking (permission checks happen before), so a
 * decorator (a cache, a metric) can wrap it without the routes knowing. Every "absent" is NotFound
 * (src/errors.ts; an upstream's 404/410 is UpstreamMissing, a NotFound too); an upstream that failed is
 * BadUpstream (502) or UpstreamTimeout (504), never NotFound. Module paths and versions arrive
 * unescaped and syntactically valid (goproxy/request-path.ts).
 */
export interface ModuleReader {
  /** @v/list: canonical versions, no pseudo-versions, sorted. An unknown module is NotFound. */
  list(module: string): Promise<string[]>;
  /** @latest: the .info JSON text of the version the go command should take. */
  latest(module: string): Promise<string>;
  /** .info JSON text (`{"Version","Time"}`, possibly more fields from an upstream). */
  info(module: string, version: string): Promise<string>;
  /** .mod bytes. */
  mod(module: string, version: string): Promise<GoFile>;
  /** .zip bytes. */
  zip(module: string, version: string): Promise<GoFile>;
  /**
   * The answer already in memory for a protocol path, taken without an await and without throwing: the
   * Go routes' hot path, where a remembered 404 thrown through every async layer cost more than the
   * answer. Undefined: nothing remembered for this caller, ask the methods above. Optional (caching readers).
   */
  remembered?(kind: GoRequestKind, module: string, version: string): Remembered | undefined;
}

export type GoRequestKind = 'list' | 'latest' | 'info' | 'mod' | 'zip';

/** A remembered answer: the value the reading method would return (string[], string or GoFile), or its NotFound/Gone. */
export type Remembered = { value: unknown; error?: undefined } | { error: Error };

/** Publishing: a PUT of .zip (.mod and .info only checked against it). Hosted repositories only. */
export interface ModulePublisher {
  upload(module: string, version: string, kind: UploadKind, body: ReadableStream<Uint8Array>, actor: Actor): Promise<UploadResult>;
}

/**
 * Removing one version: hosted unpublishes it, a proxy evicts it from its cache (the next request fetches it again).
 * The row goes with its `module.delete` audit entry, in one transaction.
 */
export interface VersionRemover {
  deleteVersion(module: string, version: string, actor: Actor, opts?: DeleteOptions): Promise<void>;
}

export interface DeleteOptions {
  /**
   * Refuse (LatestVersionKept) when the version is the one @latest answers, judged in the delete's own
   * transaction with the module's rows locked, so no concurrent delete can make it @latest in between.
   */
  keepLatest?: boolean;
}

/** Relaying the checksum database (`/sumdb/{name}/{rest}`) through an upstream. Proxies, and groups through a proxy member. */
export interface ChecksumRelay {
  sumdb(name: string, rest: string): Promise<SumdbAnswer>;
}

/**
 * One repository: its row and the roles its kind really has. A role that is absent is the answer
 * itself (the Go routes say 405 to an upload without a publisher, 404 to a sumdb request without a relay).
 *
 * | kind   | reader | publisher | remover        | checksums              |
 * |--------|--------|-----------|----------------|------------------------|
 * | hosted | yes    | yes       | yes: unpublish | -                      |
 * | proxy  | yes    | -         | yes: evict     | yes                    |
 * | group  | yes    | -         | -              | yes, via a proxy member |
 */
export interface GoRepository {
  readonly row: RepositoryRow;
  readonly reader: ModuleReader;
  /** Groups only: the members its answers come from. Decorators pass it on, so callers ask for it, never for a class. */
  readonly members?: GroupMembers;
  readonly publisher?: ModulePublisher;
  readonly remover?: VersionRemover;
  readonly checksums?: ChecksumRelay;
}

/** What a group has and other repositories do not: members, read on behalf of a caller. */
export interface GroupMembers {
  /**
   * From now on reads on behalf of a caller: members it may not read are skipped (group.ts). mayReadNow,
   * the same question answered from memory, lets a warm answer be taken synchronously (remembered()).
   */
  readingAs(mayRead: MayReadMember, mayReadNow?: MayReadMemberNow): void;
  /** Said by a parent group: the names of the groups this one is read through, outermost first. */
  nestedIn(chain: string[]): void;
  /** The caller's question: may it read each member? (EVERY_MEMBER unless readingAs said otherwise.) */
  readonly mayRead: MayReadMember;
  /** The same, from memory alone; undefined when the caller gave none. */
  readonly mayReadNow: MayReadMemberNow | undefined;
  /** True when every repository an answer could come from reads anonymously: only then may a shared cache keep it. */
  everyMemberAnonymousRead(): Promise<boolean>;
  /** everyMemberAnonymousRead() from memory; undefined when the member rows need an await. */
  everyMemberAnonymousReadNow(): boolean | undefined;
  /** Hosted repositories reachable through the members, in order: where an upload meant for this group belongs. */
  hostedMembers(): Promise<string[]>;
  /** Every repository an answer could come from or pass through (member groups too), depth-first, each once. */
  reachable(): Promise<RepositoryRow[]>;
  /** What reachable() gives, when every group's member rows are in memory; undefined when it needs an await. */
  reachableNow(): RepositoryRow[] | undefined;
}

export interface SumdbAnswer {
  body: Uint8Array;
  contentType: string;
  cacheControl: string;
}

/** Cache-Control the protocol files deserve: versions are immutable, lists are not. */
export const CACHE_IMMUTABLE = 'public, max-age=31536000, immutable';
export const CACHE_SHORT = 'public, max-age=60';
