import type { RepositoryRow } from '../db/schema';

/** Bytes start..end of a file, both inclusive and inside it (the caller checked them against its size). */
export interface FileRange {
  start: number;
  end: number;
}

/** A stored file ready to serve: size and validator known up front, body opened on demand. */
export interface GoFile {
  size: number;
  /** Strong validator, quoted, e.g. `"sha256-…"`. */
  etag: string;
  /** Opens the body, or a slice of it (range already validated by the caller against size). */
  open(range?: FileRange): Promise<ReadableStream<Uint8Array>>;
}

/** Who is writing, for rows and the audit log. Never credentials. */
export interface Actor {
  username: string | null;
  clientAddress?: string;
}

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
 * One Go repository as the GOPROXY protocol sees it. Knows nothing of HTTP or of who is asking:
 * permission checks happen before a method is called. Every "absent" is NotFound (src/errors.ts);
 * an upstream that failed is BadUpstream (502) or UpstreamTimeout (504), never NotFound.
 * Module paths and versions arrive unescaped and syntactically valid (goproxy/request-path.ts).
 */
export interface GoRepository {
  readonly row: RepositoryRow;
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
  /** PUT of .zip/.mod/.info. Repositories that take no uploads throw MethodNotAllowed with a reason. */
  upload(module: string, version: string, kind: UploadKind, body: ReadableStream<Uint8Array>, actor: Actor): Promise<UploadResult>;
  /** Removes one version (hosted: unpublish; proxy: evict from cache). */
  deleteVersion(module: string, version: string, actor: Actor): Promise<void>;
  /** Checksum database pass-through: `/sumdb/{name}/{rest}`. Repositories without an upstream throw NotFound. */
  sumdb(name: string, rest: string): Promise<SumdbAnswer>;
}

export interface SumdbAnswer {
  body: Uint8Array;
  contentType: string;
  cacheControl: string;
}

/** Cache-Control the protocol files deserve: versions are immutable, lists are not. */
export const CACHE_IMMUTABLE = 'public, max-age=31536000, immutable';
export const CACHE_SHORT = 'public, max-age=60';
