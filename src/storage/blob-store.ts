/** A byte range, both ends inclusive (as HTTP Range). `end` unset means "to the end". */
export interface ByteRange {
  start: number;
  end?: number;
}

/** How a put may be written. */
export interface PutOptions {
  /**
   * The caller moves the blob elsewhere before anything refers to it (a staged body: stageBlob, then commitBlob).
   * Neither the body nor this name need be durable when put returns: move makes the blob durable under the
   * name it lands under. A backend may skip that work here (the filesystem's fsync of the file and of its
   * directory), which takes it off the path of a client waiting for a checked fill; what a crash then leaves
   * is swept as a partial write.
   */
  transient?: boolean;
}

export interface BlobStat {
  size: number;
  /**
   * When the blob was last written (a put, a move onto it). head always gives it; put may leave it out.
   * The blob collector's grace period counts from it, so a blob written just before its row commits is kept.
   */
  modifiedAt?: Date;
}

/** One stored blob as a listing sees it. */
export interface BlobEntry {
  key: string;
  size: number;
  modifiedAt: Date;
}

/**
 * Where blobs live. Knows nothing of Go. Every backend translates its own
 * "missing" error (ENOENT, NoSuchKey) into NotFound from src/errors.ts.
 */
export interface BlobStore {
  /** Streams the blob (or a range of it). Throws NotFound when the key is absent. */
  get(key: string, range?: ByteRange): Promise<ReadableStream<Uint8Array>>;
  /**
   * Bytes [start, start+length) of the blob in one buffer, fewer only where it ends; for backends that can
   * read a range without a stream (the filesystem). Throws NotFound when the key is absent. Absent: use get.
   */
  readRange?(key: string, start: number, length: number): Promise<Uint8Array>;
  /**
   * The whole blob as a file for the HTTP server to send by itself (Bun sends a file-backed Blob in a Response
   * with sendfile: no JS stream, no copy through user space), after a synchronous stat showed it is there;
   * its size is that stat's. Null when the key is absent. For backends whose blobs are local files; absent:
   * use get. The file is read only when sent: a blob removed in between fails the send (see server.ts).
   */
  getBlob?(key: string): Blob | null;
  /** Size and modification time of the blob, or null when it is absent. */
  head(key: string): Promise<(BlobStat & { modifiedAt: Date }) | null>;
  /**
   * Stores the body under key. The blob appears under its final key only once
   * the body is complete: a failed or aborted body leaves nothing under key.
   */
  put(key: string, body: ReadableStream<Uint8Array> | Uint8Array | string, options?: PutOptions): Promise<BlobStat>;
  /**
   * Renames a blob (used to move a checked upload to its content address). Overwrites `to`. When it returns,
   * the blob is durable under `to`, body and name, even if it was put `transient`.
   */
  move(from: string, to: string): Promise<void>;
  /** Deletes the blob; absent is not an error. */
  delete(key: string): Promise<void>;
  /** Keys that start with prefix, in no particular order. */
  list(prefix: string): AsyncIterable<string>;
  /** As list, with each blob's size and modification time (what the blob collector needs, in one pass). */
  listEntries(prefix: string): AsyncIterable<BlobEntry>;
  /**
   * For backends that keep half-written bodies of their own (the filesystem's .partial/): removes those
   * older than maxAgeMs, the leftovers of a process killed mid-write. Returns how many.
   */
  sweepPartial?(maxAgeMs: number, now?: number): Promise<number>;
  /** Cheap liveness probe for /ready. Throws with a reason when the backend does not answer. */
  check(): Promise<void>;
}
