import { randomUUID } from 'node:crypto';
import { type Dirent, statSync } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, rename, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { NotFound, RangeNotSatisfiable } from '../errors';
import type { BlobEntry, BlobStat, BlobStore, ByteRange, PutOptions } from './blob-store';
import { assertValidKey, assertValidRange } from './keys';

/** Where half-written bodies live: under root so that the final rename never crosses filesystems. */
const PARTIAL_DIR = '.partial';
/** Big enough to keep syscalls few, small enough that a slow reader pins little memory. */

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  // ENOTDIR: a path segment is a file (key "a" exists, asked for "a/b"); EISDIR: the key names a directory of other keys.
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}

/** Blobs as files under root; a blob appears under its key only by an atomic rename of a complete, fsynced file. */
export class FsBlobStore implements BlobStore {
  constructor(readonly root: string) {}

  private pathOf(key: string): string {
    assertValidKey(key);
    if (key === PARTIAL_DIR || key.startsWith(`${PARTIAL_DIR}/`)) {
      throw new Error(`invalid blob key ${JSON.stringify(key)}: ${PARTIAL_DIR}/ is reserved for writes in progress`);
    }
    return join(this.root, ...key.split('/'));
  }

  async get(key: string, range?: ByteRange): Promise<ReadableStream<Uint8Array>> {
    const path = this.pathOf(key);
    if (range) assertValidRange(range);
    let size: number;
    try {
      const st = await stat(path);
      if (!st.isFile()) throw new NotFound(`blob ${key} not found`);
      size = st.size;
    } catch (err) {
      if (isMissing(err)) throw new NotFound(`blob ${key} not found`);
      throw err;
    }
    const start = range?.start ?? 0;
    if (start > 0 && start >= size) throw new RangeNotSatisfiable(size);
    const end = Math.min(range?.end ?? size - 1, size - 1);
    // Bun's native file stream, not a JS pull loop over a FileHandle: it follows the consumer's
    // backpressure (a 100 MiB zip to 50 clients stays flat, where 256 KiB JS buffers piled up by
    // hundreds of MiB), and an abandoned stream leaves no FileHandle for the GC to complain about.
    // Blobs are content-addressed and replaced only by renames of identical bytes, so reading by
    // path after the stat is safe.
    return Bun.file(path)
      .slice(start, end + 1)
      .stream() as ReadableStream<Uint8Array>;
  }

  getBlob(key: string): Blob | null {
    const path = this.pathOf(key);
    let size: number;
    try {
      // Synchronous: a stat of a hot directory entry costs less than the promise round trip it would take.
      const st = statSync(path, { throwIfNoEntry: false });
      if (!st?.isFile()) return null;
      size = st.size;
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
    // Sliced to the stat's size: the Blob's size is known without a second stat, and a Range slices it further.
    return Bun.file(path).slice(0, size);
  }

  async readRange(key: string, start: number, length: number): Promise<Uint8Array> {
    const path = this.pathOf(key);
    try {
      // One read into one buffer: a range read for the zip checker makes no stream and no copy.
      return await Bun.file(path)
        .slice(start, start + length)
        .bytes();
    } catch (err) {
      if (isMissing(err)) throw new NotFound(`blob ${key} not found`);
      throw err;
    }
  }

  async head(key: string): Promise<(BlobStat & { modifiedAt: Date }) | null> {
    const path = this.pathOf(key);
    try {
      const st = await stat(path);
      return st.isFile() ? { size: st.size, modifiedAt: st.mtime } : null;
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async put(key: string, body: ReadableStream<Uint8Array> | Uint8Array | string, options?: PutOptions): Promise<BlobStat> {
    const path = this.pathOf(key);
    const partialDir = join(this.root, PARTIAL_DIR);
    await mkdir(partialDir, { recursive: true });
    const tmp = join(partialDir, randomUUID());
    const handle = await open(tmp, 'wx');
    let size = 0;
    try {
      try {
        if (body instanceof ReadableStream) {
          size = await writeStream(handle, body);
        } else {
          const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
          await writeAll(handle, bytes);
          size = bytes.byteLength;
        }
        // A transient blob's body is made durable by its move (see move), after the checks its caller runs.
        if (!options?.transient) await handle.sync();
      } finally {
        await handle.close();
      }
      await mkdir(dirname(path), { recursive: true });
      await rename(tmp, path);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw err;
    }
    // Any other blob's file was fsynced before the rename and its directory is fsynced now. A transient
    // (staged) blob's body and name are made durable by the move that follows, which fsyncs the file and then
    // the destination directory before the caller writes any row: a crash before that leaves at worst the
    // body under .partial/ (swept) or tmp/ (swept).
    if (!options?.transient) await syncDir(dirname(path));
    return { size };
  }

  async move(from: string, to: string): Promise<void> {
    const src = this.pathOf(from);
    const dst = this.pathOf(to);
    if (!(await this.head(from))) throw new NotFound(`blob ${from} not found`);
    await mkdir(dirname(dst), { recursive: true });
    try {
      // A transient put left its body to this move to make durable; for any other blob this costs little.
      await syncFile(src);
      // rename keeps the source's mtime; the moved blob counts as written now, and arrives with that time
      // atomically (the blob collector's grace period starts from it).
      const now = new Date();
      await utimes(src, now, now);
      await rename(src, dst);
    } catch (err) {
      if (isMissing(err)) throw new NotFound(`blob ${from} not found`);
      throw err;
    }
    await syncDir(dirname(dst));
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.pathOf(key));
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
    // Empty directories are left in place on purpose: removing them would race with a put that
    // has just made the directory and is about to rename into it.
  }

  async sweepPartial(maxAgeMs: number, now = Date.now()): Promise<number> {
    const dir = join(this.root, PARTIAL_DIR);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      if (isMissing(err)) return 0;
      throw err;
    }
    let removed = 0;
    for (const name of names) {
      const path = join(dir, name);
      const st = await stat(path).catch(() => null);
      if (!st || now - st.mtimeMs < maxAgeMs) continue;
      await unlink(path).catch(() => {});
      removed++;
    }
    return removed;
  }

  async *list(prefix: string): AsyncIterable<string> {
    // Walk only the deepest directory the prefix fully names; filter the rest by string.
    const slash = prefix.lastIndexOf('/');
    const base = slash >= 0 ? prefix.slice(0, slash) : '';
    if (base !== '') assertValidKey(base);
    yield* this.walk(base, prefix);
  }

  async *listEntries(prefix: string): AsyncIterable<BlobEntry> {
    for await (const key of this.list(prefix)) {
      // A blob deleted between the directory read and its stat is simply not listed.
      const st = await this.head(key);
      if (st) yield { key, size: st.size, modifiedAt: st.modifiedAt };
    }
  }

  private async *walk(dirKey: string, prefix: string): AsyncIterable<string> {
    let entries: Dirent[];
    try {
      entries = await readdir(dirKey === '' ? this.root : join(this.root, ...dirKey.split('/')), { withFileTypes: true });
    } catch (err) {
      if (isMissing(err)) return;
      throw err;
    }
    for (const entry of entries) {
      if (dirKey === '' && entry.name === PARTIAL_DIR) continue;
      const key = dirKey === '' ? entry.name : `${dirKey}/${entry.name}`;
      if (entry.isDirectory()) {
        if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) yield* this.walk(key, prefix);
      } else if (entry.isFile() && key.startsWith(prefix)) {
        yield key;
      }
    }
  }

  async check(): Promise<void> {
    const probe = join(this.root, PARTIAL_DIR, `check-${randomUUID()}`);
    try {
      await mkdir(dirname(probe), { recursive: true });
      await writeFile(probe, 'ok');
      await unlink(probe);
    } catch (err) {
      throw new Error(`filesystem storage at ${this.root} is not writable: ${(err as Error).message}`);
    }
  }
}

async function writeAll(handle: FileHandle, bytes: Uint8Array, position: number | null = null): Promise<void> {
  let offset = 0;
  while (offset < bytes.byteLength) {
    const at = position === null ? null : position + offset;
    const { bytesWritten } = await handle.write(bytes, offset, bytes.byteLength - offset, at);
    offset += bytesWritten;
  }
}

/**
 * Chunks of a stream written at once, each at its own offset: every write is a round trip to a worker
 * thread, and with one at a time the next chunk was not read until the last was written (a third of a
 * 100 MiB proxy fill, bench/cold-fill.bench.ts). The chunks are the stream's own (nothing reuses them).
 */
const WRITES_IN_FLIGHT = 8;

async function writeStream(handle: FileHandle, body: ReadableStream<Uint8Array>): Promise<number> {
  const reader = body.getReader();
  let size = 0;
  const writing: Promise<void>[] = [];
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const written = writeAll(handle, value, size);
      written.catch(() => {}); // awaited below, in order; a failure is thrown from there
      writing.push(written);
      size += value.byteLength;
      if (writing.length >= WRITES_IN_FLIGHT) await writing.shift();
    }
    for (const w of writing) await w;
    return size;
  } catch (err) {
    await Promise.allSettled(writing);
    // Tell the producer (an upstream fetch, a request body) to stop sending.
    await reader.cancel(err).catch(() => {});
    throw err;
  } finally {
    reader.releaseLock();
  }
}

/** Makes a file's bytes durable. */
async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes the rename itself durable; some platforms cannot open a directory, and there it is skipped. */
async function syncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // best effort: the data is already fsynced; only the directory entry's durability is at stake
  } finally {
    await handle?.close().catch(() => {});
  }
}
