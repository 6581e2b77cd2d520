/**
 * The structural half of reading a zip: end-of-central-directory (and its zip64
 * form), central directory records, local headers. Everything goes through
 * range reads on a RandomAccessReader so the archive is never held in memory.
 * Follows archive/zip's reader, since the go command reads zips with it.
 */
import { InvalidZipError } from './errors';
import type { RandomAccessReader } from './random-access';

export interface CentralEntry {
  /** Decoded name; null when the raw bytes are not valid UTF-8. */
  name: string | null;
  /** The raw name bytes, kept only when they are not valid UTF-8 (memory matters with 10^5 entries). */
  rawName: Uint8Array | null;
  creatorOS: number;
  flags: number;
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  externalAttrs: number;
  localHeaderOffset: number;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_LOCATOR64 = 0x07064b50;
const EOCD_LEN = 22;
const CENTRAL_LEN = 46;
export const LOCAL_LEN = 30;

export function formatError(message: string, entry?: string): InvalidZipError {
  return new InvalidZipError(
    'zip-format',
    entry ? `zip entry ${JSON.stringify(entry)}: ${message}` : `not a valid zip file: ${message}`,
    entry,
  );
}

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

function u64(dv: DataView, off: number): number {
  const v = dv.getBigUint64(off, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw formatError('a zip64 size or offset is out of range');
  return Number(v);
}

export async function readExactly(r: RandomAccessReader, offset: number, length: number, what: string): Promise<Uint8Array> {
  if (offset < 0 || offset + length > r.size) throw formatError(`${what} lies outside the file`);
  const b = await r.read(offset, length);
  if (b.length !== length) throw formatError(`short read of ${what}`);
  return b;
}

/** Sequential reads over a range, fetched chunkSize bytes at a time. */
class SequentialReader {
  private buf: Uint8Array = new Uint8Array(0);
  private bufStart = 0;
  constructor(
    private readonly r: RandomAccessReader,
    public pos: number,
    private readonly end: number,
    private readonly chunkSize: number,
  ) {}

  async take(n: number, what: string): Promise<Uint8Array> {
    if (this.pos + n > this.end) throw formatError(`${what} runs past the end of the central directory`);
    let off = this.pos - this.bufStart;
    if (off < 0 || off + n > this.buf.length) {
      const len = Math.max(n, Math.min(this.chunkSize, this.end - this.pos));
      this.buf = await readExactly(this.r, this.pos, len, 'the central directory');
      this.bufStart = this.pos;
      off = 0;
    }
    this.pos += n;
    return this.buf.subarray(off, off + n);
  }
}

function findEocd(block: Uint8Array): number {
  for (let i = block.length - EOCD_LEN; i >= 0; i--) {
    if (block[i] === 0x50 && block[i + 1] === 0x4b && block[i + 2] === 0x05 && block[i + 3] === 0x06) {
      const commentLen = block[i + EOCD_LEN - 2] | (block[i + EOCD_LEN - 1] << 8);
      return commentLen + EOCD_LEN + i > block.length ? -1 : i;
    }
  }
  return -1;
}

interface DirectoryEnd {
  records: number;
  size: number;
  offset: number;
  /** Where the (zip64) end record starts: the directory must end right before it. */
  endOffset: number;
}

async function readDirectoryEnd(r: RandomAccessReader): Promise<DirectoryEnd> {
  let block: Uint8Array = new Uint8Array(0);
  let at = -1;
  for (const want of [1024, 65 * 1024]) {
    const len = Math.min(want, r.size);
    block = await readExactly(r, r.size - len, len, 'the end of the zip');
    at = findEocd(block);
    if (at >= 0) {
      at += r.size - len;
      block = block.subarray(at - (r.size - len));
      break;
    }
    if (len === r.size) break;
  }
  if (at < 0) throw formatError('no end of central directory record (is it a zip?)');
  const dv = view(block);
  const end: DirectoryEnd = {
    records: dv.getUint16(10, true),
    size: dv.getUint32(12, true),
    offset: dv.getUint32(16, true),
    endOffset: at,
  };
  if (end.records === 0xffff || end.size === 0xffffffff || end.offset === 0xffffffff) {
    const locAt = at - 20;
    if (locAt >= 0) {
      const loc = view(await readExactly(r, locAt, 20, 'the zip64 locator'));
      if (loc.getUint32(0, true) === SIG_LOCATOR64 && loc.getUint32(4, true) === 0 && loc.getUint32(16, true) === 1) {
        const at64 = u64(loc, 8);
        const e64 = view(await readExactly(r, at64, 56, 'the zip64 end of central directory'));
        if (e64.getUint32(0, true) !== SIG_EOCD64) throw formatError('bad zip64 end of central directory signature');
        Object.assign(end, { records: u64(e64, 32), size: u64(e64, 40), offset: u64(e64, 48), endOffset: at64 });
      }
    }
  }
  return end;
}

function parseZip64Extra(e: CentralEntry, extra: Uint8Array, need: { u: boolean; c: boolean; o: boolean }) {
  const dv = view(extra);
  for (let p = 0; p + 4 <= extra.length; ) {
    const tag = dv.getUint16(p, true);
    const size = dv.getUint16(p + 2, true);
    p += 4;
    if (p + size > extra.length) break;
    if (tag === 0x0001) {
      let q = p;
      const next = () => {
        if (q + 8 > p + size) throw formatError('truncated zip64 extra field', e.name ?? undefined);
        const v = u64(dv, q);
        q += 8;
        return v;
      };
      if (need.u) (e.uncompressedSize = next()), (need.u = false);
      if (need.c) (e.compressedSize = next()), (need.c = false);
      if (need.o) (e.localHeaderOffset = next()), (need.o = false);
    }
    p += size;
  }
}

// ignoreBOM keeps a leading U+FEFF: stripping it would make us see another name than archive/zip does.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const nameEncoder = new TextEncoder();

function decodeName(raw: Uint8Array): string | null {
  try {
    return utf8.decode(raw);
  } catch {
    return null;
  }
}

function tooManyEntries(max: number): InvalidZipError {
  return new InvalidZipError('too-many-entries', `module zip has more than ${max} entries`);
}

/** Every central directory record, in directory order; refuses more than maxEntries of them. */
export async function readCentralDirectory(r: RandomAccessReader, chunkSize: number, maxEntries = Infinity): Promise<CentralEntry[]> {
  const end = await readDirectoryEnd(r);
  if (end.records > maxEntries) throw tooManyEntries(maxEntries);
  // Data prepended to the zip (a self-extractor stub) shifts every offset; archive/zip tolerates it.
  let base = end.endOffset - end.size - end.offset;
  if (base < 0 || end.offset + base >= r.size) throw formatError('central directory offset is out of range');
  if (base > 0 && end.offset + 4 <= r.size) {
    const sig = view(await readExactly(r, end.offset, 4, 'the central directory')).getUint32(0, true);
    if (sig === SIG_CENTRAL) base = 0;
  }
  const start = base + end.offset;
  // Like archive/zip, read records until one is not a record rather than trusting the directory size:
  // records past a too-small size would be seen by the go command and so must be checked by us.
  const stop = r.size;
  const seq = new SequentialReader(r, start, stop, chunkSize);
  const entries: CentralEntry[] = [];
  while (seq.pos + CENTRAL_LEN <= stop) {
    const h = view(await seq.take(CENTRAL_LEN, 'a central directory record'));
    if (h.getUint32(0, true) !== SIG_CENTRAL) break;
    if (entries.length >= maxEntries) throw tooManyEntries(maxEntries);
    const nameLen = h.getUint16(28, true);
    const extraLen = h.getUint16(30, true);
    const commentLen = h.getUint16(32, true);
    const rest = await seq.take(nameLen + extraLen + commentLen, 'a central directory record');
    const name = decodeName(rest.subarray(0, nameLen));
    const e: CentralEntry = {
      name,
      rawName: name === null ? rest.slice(0, nameLen) : null,
      creatorOS: h.getUint8(5),
      flags: h.getUint16(8, true),
      method: h.getUint16(10, true),
      crc32: h.getUint32(16, true),
      compressedSize: h.getUint32(20, true),
      uncompressedSize: h.getUint32(24, true),
      externalAttrs: h.getUint32(38, true),
      localHeaderOffset: h.getUint32(42, true),
    };
    const need = { u: e.uncompressedSize === 0xffffffff, c: e.compressedSize === 0xffffffff, o: e.localHeaderOffset === 0xffffffff };
    parseZip64Extra(e, rest.subarray(nameLen, nameLen + extraLen), need);
    if (need.c || need.o) throw formatError('zip64 sizes are missing', e.name ?? undefined);
    e.localHeaderOffset += base;
    entries.push(e);
  }
  // The 16-bit record count wraps for >65535 entries in non-zip64 archives; compare as archive/zip does.
  if ((entries.length & 0xffff) !== (end.records & 0xffff)) {
    throw formatError(`central directory holds ${entries.length} records but its end record says ${end.records}`);
  }
  return entries;
}

export interface EntryData {
  /** Offset of the entry's first data byte. */
  start: number;
  /** The first bytes of the data, read along with the local header (may be empty). */
  head: Uint8Array;
}

/**
 * Locates an entry's data after checking its local header agrees with the
 * central directory. Header, name and (for small entries) all the data come in
 * one range read, which matters for modules made of thousands of small files.
 */
export async function openEntryData(r: RandomAccessReader, e: CentralEntry, entryName: string, chunkSize: number): Promise<EntryData> {
  if (e.localHeaderOffset + LOCAL_LEN > r.size) throw formatError('a local file header lies outside the file', entryName);
  const expected = e.rawName ?? nameEncoder.encode(e.name!);
  const guess = Math.min(r.size - e.localHeaderOffset, LOCAL_LEN + expected.length + 64 + e.compressedSize, chunkSize);
  let buf = await readExactly(r, e.localHeaderOffset, Math.max(guess, LOCAL_LEN), 'a local file header');
  const h = view(buf);
  if (h.getUint32(0, true) !== SIG_LOCAL) throw formatError('bad local file header signature', entryName);
  const nameLen = h.getUint16(26, true);
  const extraLen = h.getUint16(28, true);
  const headerLen = LOCAL_LEN + nameLen + extraLen;
  if (buf.length < headerLen) buf = await readExactly(r, e.localHeaderOffset, headerLen, 'a local file header');
  // Readers that trust local headers would see another name than the one we checked.
  const localName = buf.subarray(LOCAL_LEN, LOCAL_LEN + nameLen);
  if (nameLen !== expected.length || !localName.every((b, i) => b === expected[i])) {
    throw new InvalidZipError(
      'local-header-mismatch',
      `zip entry ${JSON.stringify(entryName)}: local file header names a different file`,
      entryName,
    );
  }
  const start = e.localHeaderOffset + headerLen;
  if (start + e.compressedSize > r.size) throw formatError('entry data runs past the end of the file', entryName);
  return { start, head: buf.subarray(headerLen, headerLen + e.compressedSize) };
}
