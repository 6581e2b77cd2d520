/**
 * Module zip validation as x/mod's zip.CheckZip, plus what the go
 * command's extraction and hashing would trip over later (declared vs actual
 * sizes, CRCs, compression methods), so that a zip we accept is one `go mod
 * download` accepts. The h1 hash is computed in the same single pass.
 *
 * Memory stays bounded whatever the archive: the central directory is read in
 * chunks, and entries are inflated one at a time from chunked range reads
 * (see inflate.ts for how a single step's output is bounded).
 */
import { createHash } from 'node:crypto';
import { type HashedFile, hash1 } from './dirhash';
import { InvalidVersionError, InvalidZipError } from './errors';
import { goDirectiveVersion } from './gomod';
import { type InflateEngine, inflateRaw } from './inflate';
import { checkModulePath, checkPathVersion, cleanPath, pathProblem } from './module-path';
import { type RandomAccessReader, windowedReader } from './random-access';
import { canonicalVersion, isCanonicalVersion } from './version';
import { type CentralEntry, type EntryData, formatError, openEntryData, readCentralDirectory, readExactly } from './zip-directory';
import { leftOutNotes, prefixRefusal } from './zip-hints';
import type { ZipStreamDigest } from './zip-stream';

const EMPTY_SHA256 = createHash('sha256').digest('hex');

export { type RandomAccessReader, readerFromBytes } from './random-access';

export interface ZipLimits {
  /** Largest zip file, and largest total uncompressed content, in bytes. */
  maxZipFile: number;
  maxGoMod: number;
  maxLicense: number;
  /**
   * Most entries (files and directories) a zip may hold. Not a go command rule:
   * it bounds the memory one check takes (a few hundred bytes per entry).
   */
  maxEntries: number;
}

export const DEFAULT_ZIP_LIMITS: Readonly<ZipLimits> = {
  maxZipFile: 500 << 20,
  maxGoMod: 16 << 20,
  maxLicense: 16 << 20,
  maxEntries: 200_000,
};

export interface CheckZipOptions {
  /** Override limits (tests use small ones); unset fields keep the go command's. */
  limits?: Partial<ZipLimits>;
  /** Bytes per range read; unset means 256 KiB. */
  chunkSize?: number;
  /**
   * The read-ahead window over the entries (the one window between the checker and storage):
   * smaller reads are served from it. Unset means chunkSize; over remote storage a larger window
   * saves round trips (bench/storage-stream.bench.ts).
   */
  windowBytes?: number;
  /** Stops the check between reads. */
  signal?: AbortSignal;
  /** Deflate implementation; unset means "native" (the runtime's DecompressionStream). */
  inflate?: InflateEngine;
}

export interface CheckedZip {
  /** The go.sum hash of the zip, "h1:...". */
  h1: string;
  /** The root go.mod bytes, or null when the module has none. */
  goMod: Uint8Array | null;
  /** Regular files (directory entries not counted). */
  files: number;
  /** Total uncompressed bytes of those files. */
  uncompressedSize: number;
  /** Accepted, but worth saying: files the go command's own zip would not hold (zip-hints.ts leftOutNotes). */
  notes: string[];
}

const q = (s: string) => JSON.stringify(s);
const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const CREATOR_UNIX = 3;
const CREATOR_MACOSX = 19;

function refuse(rule: string, entry: string, reason: string): InvalidZipError {
  return new InvalidZipError(rule, `zip entry ${q(entry)}: ${reason}`, entry);
}

/**
 * A key equal for two names iff they are equal under simple Unicode case
 * folding (Go's strings.EqualFold), the test for "same file on a
 * case-insensitive file system".
 */
export function foldKey(s: string): string {
  if (!/[^a-z0-9._\-/]/.test(s)) return s;
  let out = '';
  for (const c of s) {
    // Dotless ı upper-cases to I, but simple folding (Go's unicode.SimpleFold) leaves it alone.
    if (c === '\u0131') {
      out += c;
      continue;
    }
    const up = c.toUpperCase();
    const one = [...up].length === 1 ? up : c; // "ß".toUpperCase() is "SS": a full, not simple, mapping
    const low = one.toLowerCase();
    out += [...low].length === 1 ? low : one;
  }
  return out;
}

/** Finds case-insensitive collisions and paths used both as a file and a directory. */
class CollisionChecker {
  private seen = new Map<string, { path: string; isDir: boolean }>();

  check(p: string, isDir: boolean, entry: string): void {
    const key = foldKey(p);
    const other = this.seen.get(key);
    if (other) {
      if (other.path !== p) throw refuse('case-collision', entry, `${q(other.path)} and ${q(p)} differ only in case`);
      if (other.isDir !== isDir) throw refuse('file-and-directory', entry, `${q(p)} is both a file and a directory`);
      if (!isDir) throw refuse('duplicate-entry', entry, `multiple entries for file ${q(p)}`);
      return; // the same directory seen again (as a parent of another file): fine
    }
    this.seen.set(key, { path: p, isDir });
    const slash = p.lastIndexOf('/');
    if (slash > 0) this.check(p.slice(0, slash), true, entry);
  }
}

export function checkModuleVersion(modulePath: string, version: string): void {
  checkModulePath(modulePath);
  if (!isCanonicalVersion(version)) {
    let should = '';
    try {
      should = ` (should be ${q(canonicalVersion(version))})`;
    } catch {}
    throw new InvalidVersionError('version-not-canonical', `version ${q(version)} is not canonical${should}`);
  }
  checkPathVersion(modulePath, version);
}

function checkFileType(e: CentralEntry, name: string, isDir: boolean): void {
  if (e.creatorOS !== CREATOR_UNIX && e.creatorOS !== CREATOR_MACOSX) return;
  const type = (e.externalAttrs >>> 16) & S_IFMT;
  if (type === S_IFLNK) throw refuse('symlink', name, 'symbolic links are not allowed in module zips');
  const ok = type === 0 || type === S_IFREG || (isDir && type === S_IFDIR);
  if (!ok) throw refuse('not-regular', name, 'not a regular file');
}

interface Planned {
  entry: CentralEntry;
  name: string;
  isDir: boolean;
  isGoMod: boolean;
}

/** The name, layout and declared-size rules: everything decidable from the central directory. */
function plan(entries: CentralEntry[], prefix: string, limits: ZipLimits): Planned[] {
  const collisions = new CollisionChecker();
  let total = 0;
  const out: Planned[] = [];
  for (const e of entries) {
    if (e.name === null) {
      const lossy = new TextDecoder().decode(e.rawName!);
      throw new InvalidZipError('path-invalid-utf8', `zip entry ${q(lossy)}: name is not valid UTF-8`, lossy);
    }
    const name = e.name;
    if (!name.startsWith(prefix)) throw refuse('path-prefix', name, prefixRefusal(name, prefix));
    let rel = name.slice(prefix.length);
    const isDir = rel === '' || rel.endsWith('/');
    checkFileType(e, name, isDir);
    if (e.flags & 1) throw refuse('encrypted', name, 'encrypted entries are not allowed');
    // archive/zip refuses to open a directory entry that claims content, so the go command could not hash it.
    if (isDir && e.uncompressedSize !== 0) throw refuse('directory-has-data', name, 'directory entry has content');
    if (!isDir && e.method !== 0 && e.method !== 8) {
      throw refuse('compression-method', name, `compression method ${e.method} is not supported (only store and deflate)`);
    }
    out.push({ entry: e, name, isDir, isGoMod: rel === 'go.mod' });
    if (rel === '') continue;
    if (isDir) rel = rel.slice(0, -1);
    // CheckZip tests cleanliness first, but the element rules name the actual culprit ("..", "//").
    const problem = pathProblem(rel, 'file');
    if (problem) throw refuse(problem.rule, name, problem.reason);
    const clean = cleanPath(rel);
    if (clean !== rel) throw refuse('path-not-clean', name, `path is not clean (clean form is ${q(clean)})`);
    collisions.check(rel, isDir, name);
    if (isDir) continue;
    const base = rel.slice(rel.lastIndexOf('/') + 1);
    if (base.toLowerCase() === 'go.mod') {
      if (base !== rel)
        throw refuse('gomod-not-root', name, 'go.mod file not in module root directory (a subdirectory with a go.mod is another module)');
      if (rel !== 'go.mod') throw refuse('gomod-case', name, 'go.mod files must have lowercase names');
    }
    total += e.uncompressedSize;
    if (total > limits.maxZipFile) {
      throw refuse('content-too-large', name, `total uncompressed size of module contents exceeds ${limits.maxZipFile} bytes`);
    }
    if (rel === 'go.mod' && e.uncompressedSize > limits.maxGoMod) {
      throw refuse('gomod-too-large', name, `go.mod file too large (${e.uncompressedSize} bytes; max size is ${limits.maxGoMod} bytes)`);
    }
    if (rel === 'LICENSE' && e.uncompressedSize > limits.maxLicense) {
      throw refuse(
        'license-too-large',
        name,
        `LICENSE file too large (${e.uncompressedSize} bytes; max size is ${limits.maxLicense} bytes)`,
      );
    }
  }
  return out;
}

interface EntryDigest {
  sha256Hex: string;
  size: number;
  content: Uint8Array | null;
}

async function checkDescriptorCrc(r: RandomAccessReader, e: CentralEntry, at: number, name: string): Promise<void> {
  const len = Math.min(16, r.size - at);
  if (len < 12) throw formatError('data descriptor is missing', name);
  const d = await readExactly(r, at, len, 'a data descriptor');
  const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const crcAt = dv.getUint32(0, true) === 0x08074b50 ? 4 : 0;
  if (dv.getUint32(crcAt, true) !== e.crc32)
    throw refuse('crc-mismatch', name, 'data descriptor CRC-32 differs from the central directory');
}

/** Where a read of the zip itself failed (the storage, not the zip's content): kept to be rethrown as it is. */
interface ReadFailure {
  error?: unknown;
}

async function* rangeChunks(
  r: RandomAccessReader,
  data: EntryData,
  length: number,
  chunkSize: number,
  failure: ReadFailure,
  signal?: AbortSignal,
) {
  signal?.throwIfAborted();
  if (data.head.length > 0) yield data.head;
  for (let off = data.head.length; off < length; off += chunkSize) {
    signal?.throwIfAborted();
    let chunk: Uint8Array;
    try {
      chunk = await readExactly(r, data.start + off, Math.min(chunkSize, length - off), 'entry data');
    } catch (err) {
      failure.error = err;
      throw err;
    }
    yield chunk;
  }
}

interface DigestOptions {
  chunkSize: number;
  engine: InflateEngine;
  signal?: AbortSignal;
}

/** Streams one entry's data: hash, CRC and size checks, aborting as soon as it outgrows its declared size. */
async function digestEntry(r: RandomAccessReader, p: Planned, o: DigestOptions): Promise<EntryDigest> {
  const { entry: e, name } = p;
  const sha = createHash('sha256');
  if (p.isDir) return { sha256Hex: sha.digest('hex'), size: 0, content: null };
  const data = await openEntryData(r, e, name, o.chunkSize);
  let crc = 0;
  let size = 0;
  const keep: Uint8Array[] | null = p.isGoMod ? [] : null;
  const sink = (chunk: Uint8Array) => {
    size += chunk.length;
    if (size > e.uncompressedSize) {
      throw refuse('size-mismatch', name, `uncompressed data is larger than the declared ${e.uncompressedSize} bytes`);
    }
    sha.update(chunk);
    crc = Bun.hash.crc32(chunk, crc);
    keep?.push(chunk.slice());
  };
  const failure: ReadFailure = {};
  const input = rangeChunks(r, data, e.compressedSize, o.chunkSize, failure, o.signal);
  try {
    if (e.method === 8) await inflateRaw(o.engine, input, sink);
    else for await (const chunk of input) sink(chunk);
  } catch (err) {
    if (err instanceof InvalidZipError || o.signal?.aborted) throw err;
    // A reader that failed (the storage went away mid-check) says nothing about the zip: the caller
    // must see its own error, which the inflate engine may have passed on wrapped or replaced.
    if (failure.error !== undefined) throw failure.error;
    throw refuse('corrupt-data', name, `compressed data is corrupt (${(err as Error).message})`);
  }
  if (size !== e.uncompressedSize) {
    throw refuse('size-mismatch', name, `uncompressed size is ${size} bytes but the zip declares ${e.uncompressedSize}`);
  }
  if (e.flags & 8) await checkDescriptorCrc(r, e, data.start + e.compressedSize, name);
  // archive/zip skips the check when no CRC was recorded; so must we, or we would refuse what go accepts.
  else if (e.crc32 !== 0 && crc >>> 0 !== e.crc32) throw refuse('crc-mismatch', name, 'CRC-32 of the data differs from the one recorded');
  let content: Uint8Array | null = null;
  if (keep) {
    content = new Uint8Array(size);
    let at = 0;
    for (const k of keep) content.set(k, at), (at += k.length);
  }
  return { sha256Hex: sha.digest('hex'), size, content };
}

export async function checkModuleZip(
  reader: RandomAccessReader,
  modulePath: string,
  version: string,
  opts: CheckZipOptions = {},
): Promise<CheckedZip> {
  const limits: ZipLimits = { ...DEFAULT_ZIP_LIMITS, ...opts.limits };
  const chunkSize = opts.chunkSize ?? 256 * 1024;
  const digestOpts: DigestOptions = { chunkSize, engine: opts.inflate ?? 'native', signal: opts.signal };
  checkModuleVersion(modulePath, version);
  if (reader.size > limits.maxZipFile) {
    throw new InvalidZipError('zip-too-large', `module zip is too large (${reader.size} bytes; limit is ${limits.maxZipFile} bytes)`);
  }
  const planned = plan(await readCentralDirectory(reader, chunkSize, limits.maxEntries), `${modulePath}@${version}/`, limits);
  const hashed: HashedFile[] = [];
  let goMod: Uint8Array | null = null;
  let uncompressedSize = 0;
  const data = windowedReader(reader, Math.max(opts.windowBytes ?? chunkSize, chunkSize));
  for (const p of planned) {
    const d = await digestEntry(data, p, digestOpts);
    hashed.push({ name: p.name, sha256Hex: d.sha256Hex });
    if (p.isGoMod) goMod = d.content;
    if (!p.isDir) uncompressedSize += d.size;
  }
  return checked(planned, hashed, goMod, uncompressedSize, modulePath, version);
}

/** The answer once every entry is digested: hashed in directory order, goMod the root go.mod's bytes. */
function checked(
  planned: Planned[],
  hashed: HashedFile[],
  goMod: Uint8Array | null,
  uncompressedSize: number,
  modulePath: string,
  version: string,
): CheckedZip {
  const prefixLength = modulePath.length + version.length + 2;
  const paths = planned.filter((p) => !p.isDir).map((p) => p.name.slice(prefixLength));
  const notes = leftOutNotes(paths, goMod ? goDirectiveVersion(new TextDecoder().decode(goMod)) : null);
  return { h1: hash1(hashed), goMod, files: paths.length, uncompressedSize, notes };
}

/**
 * checkModuleZip's answer for a zip whose entries `seen` digested while it was stored (zip-stream.ts):
 * only the central directory is read, and it must agree with what was seen entry by entry (offsets,
 * names, methods, sizes, CRCs as checkModuleZip compares them); then the directory rules run and the h1
 * is formed from the hashes seen. Where `seen` gave up, saw other bytes, or anything disagrees,
 * checkModuleZip reads the zip again, so the verdict is always its verdict.
 */
export async function checkStreamedZip(
  reader: RandomAccessReader,
  modulePath: string,
  version: string,
  seen: ZipStreamDigest,
  opts: CheckZipOptions = {},
): Promise<CheckedZip & { streamed: boolean }> {
  if (seen.gaveUp === undefined && seen.bytes === reader.size) {
    const quick = await fromDirectory(reader, modulePath, version, seen, opts).catch(() => null);
    if (quick) return { ...quick, streamed: true };
  }
  return { ...(await checkModuleZip(reader, modulePath, version, opts)), streamed: false };
}

async function fromDirectory(
  reader: RandomAccessReader,
  modulePath: string,
  version: string,
  seen: ZipStreamDigest,
  opts: CheckZipOptions,
): Promise<CheckedZip | null> {
  const limits: ZipLimits = { ...DEFAULT_ZIP_LIMITS, ...opts.limits };
  checkModuleVersion(modulePath, version);
  if (reader.size > limits.maxZipFile) return null;
  const entries = await readCentralDirectory(reader, opts.chunkSize ?? 256 * 1024, limits.maxEntries);
  if (entries.length !== seen.entries.length) return null;
  const planned = plan(entries, `${modulePath}@${version}/`, limits);
  const hashed: HashedFile[] = [];
  let goMod: Uint8Array | null = null;
  let uncompressedSize = 0;
  for (const [i, p] of planned.entries()) {
    const e = p.entry;
    const s = seen.entries[i];
    if (s.offset !== e.localHeaderOffset || s.name === null || s.name !== e.name) return null;
    if (p.isDir) {
      hashed.push({ name: p.name, sha256Hex: EMPTY_SHA256 });
      continue;
    }
    if (s.method !== e.method || s.compressedSize !== e.compressedSize || s.size !== e.uncompressedSize) return null;
    if (e.flags & 8) {
      if (s.descriptorCrc !== e.crc32) return null;
    } else if (e.crc32 !== 0 && s.crc32 !== e.crc32) return null;
    hashed.push({ name: p.name, sha256Hex: s.sha256Hex });
    uncompressedSize += s.size;
    if (p.isGoMod) {
      if (seen.goMod === null || seen.goMod.length !== s.size) return null;
      goMod = seen.goMod;
    }
  }
  return checked(planned, hashed, goMod, uncompressedSize, modulePath, version);
}
