/**
 * Writes a module zip as x/mod's zip.Create lays it out: one deflated entry
 * per file, named "{module}@{version}/{path}", no directory entries, no file
 * modes (creator MS-DOS, attributes 0, as Go's archive/zip Create leaves
 * them). The h1: hash is computed from the same bytes in the same pass.
 *
 * Files are read and compressed chunk by chunk, and the sink is awaited, so
 * memory stays bounded by a chunk whatever the module's size. Timestamps are
 * fixed, so the same files give the same zip bytes.
 */
import { createHash } from 'node:crypto';
import { Zip, ZipDeflate } from 'fflate';
import { type HashedFile, hash1 } from './dirhash';
import type { ModuleFile } from './module-files';
import { checkModuleVersion } from './zip-check';

/** The bytes of one listed file, in chunks. */
export type OpenModuleFile = (path: string) => AsyncIterable<Uint8Array>;

/** Receives the zip's bytes in order; awaited, so a slow destination slows the producer down. */
export type ZipSink = (chunk: Uint8Array) => void | Promise<void>;

export interface ModuleZipResult {
  h1: string;
  files: number;
  uncompressedSize: number;
  /** Bytes handed to the sink (0 when there was none). */
  zipSize: number;
}

export interface WriteModuleZipOptions {
  /** Deflate level; unset means 6, the level Go's compress/flate uses by default. */
  level?: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;
  signal?: AbortSignal;
}

/** Any date fflate accepts: only reproducibility matters (Go writes none). */
const FIXED_MTIME = new Date(1980, 0, 1);

/** The prefix every entry of a module zip starts with. */
export function moduleZipPrefix(modulePath: string, version: string): string {
  return `${modulePath}@${version}/`;
}

/**
 * Streams the zip of `files` (as listModuleFiles returned them) to `sink`, or
 * with a null sink only hashes them (what a dry run prints).
 */
export async function writeModuleZip(
  modulePath: string,
  version: string,
  files: readonly ModuleFile[],
  open: OpenModuleFile,
  sink: ZipSink | null,
  opts: WriteModuleZipOptions = {},
): Promise<ModuleZipResult> {
  checkModuleVersion(modulePath, version);
  const prefix = moduleZipPrefix(modulePath, version);
  let pending: Uint8Array[] = [];
  let failure: Error | null = null;
  let zipSize = 0;
  const zip = sink
    ? new Zip((err, chunk, _final) => {
        if (err) failure ??= err;
        else pending.push(chunk);
      })
    : null;
  const drain = async () => {
    if (failure) throw failure;
    const out = pending;
    pending = [];
    for (const c of out) {
      zipSize += c.length;
      await sink!(c);
    }
  };
  const hashed: HashedFile[] = [];
  let uncompressedSize = 0;
  for (const f of files) {
    opts.signal?.throwIfAborted();
    const entry = zip ? new ZipDeflate(prefix + f.path, { level: opts.level ?? 6 }) : null;
    if (entry) {
      entry.mtime = FIXED_MTIME;
      zip!.add(entry);
    }
    const sha = createHash('sha256');
    let size = 0;
    for await (const chunk of open(f.path)) {
      size += chunk.length;
      // Go's Create refuses a file that grew since it was listed; a zip must not disagree with the list it was checked against.
      if (size > f.size) throw new Error(`${f.path} grew while it was being zipped (listed with ${f.size} bytes); run again`);
      sha.update(chunk);
      if (entry) {
        entry.push(chunk, false);
        await drain();
      }
      opts.signal?.throwIfAborted();
    }
    if (size !== f.size) throw new Error(`${f.path} shrank while it was being zipped (listed with ${f.size} bytes); run again`);
    entry?.push(new Uint8Array(0), true);
    await drain();
    hashed.push({ name: prefix + f.path, sha256Hex: sha.digest('hex') });
    uncompressedSize += size;
  }
  if (zip) {
    zip.end();
    await drain();
  }
  return { h1: hash1(hashed), files: files.length, uncompressedSize, zipSize };
}
