import type { BlobStore } from '../storage/blob-store';
import type { FileRange, GoFile } from './repository';

/**
 * A content-addressed blob as a GoFile. Size and validator come from the database row, so a
 * 304 or HEAD never touches storage; the body is opened only when it is actually sent.
 */
export function blobGoFile(storage: BlobStore, key: string, size: number, sha256: string): GoFile {
  return {
    size,
    // The content hash is the strongest validator there is, and the same in every process and repository.
    etag: `"sha256-${sha256}"`,
    open: (range) => storage.get(key, range),
    ...blobOf(storage, key, size),
  };
}

/**
 * A GoFile's `blob`, for a store that gives its blobs as files: looked up on every send (the GoFile is kept
 * in memory long after it was made), and only trusted while the stored size is the size the row says.
 */
function blobOf(storage: BlobStore, key: string, size: number): Pick<GoFile, 'blob'> {
  if (!storage.getBlob) return {};
  return {
    blob: (range?: FileRange) => {
      const whole = storage.getBlob!(key);
      // Absent, or not what the row describes: open() answers as it always did.
      if (!whole || whole.size !== size) return undefined;
      return range ? whole.slice(range.start, range.end + 1) : whole;
    },
  };
}

/**
 * A file held in memory: `etag` as its stored copy has it (a content-addressed blob's is the bytes' own
 * sha256, which is the default).
 */
export function bytesGoFile(
  bytes: Uint8Array<ArrayBuffer>,
  etag = `"sha256-${new Bun.CryptoHasher('sha256').update(bytes).digest('hex')}"`,
): GoFile {
  return {
    size: bytes.byteLength,
    etag,
    bytes,
    open: async (range) => new Response(range ? bytes.subarray(range.start, range.end + 1) : bytes).body!,
  };
}

/** The hex sha256 a `blobs/sha256/ab/cdef…` key is named for, or null for any other key. */
export function sha256OfBlobKey(key: string): string | null {
  const m = /(?:^|\/)blobs\/sha256\/([0-9a-f]{2})\/([0-9a-f]{62})$/.exec(key);
  return m ? m[1] + m[2] : null;
}

/**
 * blobGoFile for a row that records only the key (module_versions has no .mod size): the size
 * costs one head() on storage, and the validator comes from the key itself when it is a
 * content address.
 */
export async function blobGoFileAt(storage: BlobStore, key: string, known?: { size: number; sha256: string }): Promise<GoFile> {
  if (known) return blobGoFile(storage, key, known.size, known.sha256);
  const stat = await storage.head(key);
  // The row says the blob exists: its absence is lost data, a server fault, not a 404.
  if (!stat) throw new Error(`blob ${key} referenced by the database is missing from storage`);
  const sha256 = sha256OfBlobKey(key);
  if (sha256) return blobGoFile(storage, key, stat.size, sha256);
  return {
    size: stat.size,
    etag: `"${Bun.hash(key).toString(36)}-${stat.size}"`,
    open: (range) => storage.get(key, range),
    ...blobOf(storage, key, stat.size),
  };
}
