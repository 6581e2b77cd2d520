/**
 * Writes a module zip as x/mod's zip.Create lays it out: one deflated entry
 * per file, named "{module}@{version}/{path}", sizes and CRC in a data
 * descriptor after the data, no directory entries, no file modes (creator
 * MS-DOS, attributes 0, as Go's archive/zip Create leaves them), zip64 end
 * records only past 65,534 entries (as archive/zip). The h1: hash is computed
 * from the same bytes in the same pass.
 *
 * Files are read and compressed chunk by chunk (the runtime's native
 * CompressionStream, one per file, dropped after it), and the sink is awaited,
 * so memory stays bounded by a few chunks and ~100 bytes per entry for the
 * central directory, whatever the module's size. Timestamps are fixed, so the
 * same files give the same zip bytes.
 */
import { createHash } from 'node:crypto';
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
  signal?: AbortSignal;
}

/** 1980-01-01 00:00 in MS-DOS form, the earliest date a zip can say: only reproducibility matters (Go writes none). */
const DOS_TIME = 0;
const DOS_DATE = (1 << 5) | 1;
const FLAG_DESCRIPTOR = 0x0008;
const FLAG_UTF8 = 0x0800;
const DEFLATE = 8;

interface Written {
  name: Uint8Array;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  offset: number;
}

class Header {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  private at = 0;
  constructor(length: number) {
    this.bytes = new Uint8Array(length);
    this.view = new DataView(this.bytes.buffer);
  }
  u16(v: number): this {
    this.view.setUint16(this.at, v, true);
    this.at += 2;
    return this;
  }
  u32(v: number): this {
    this.view.setUint32(this.at, v >>> 0, true);
    this.at += 4;
    return this;
  }
  u64(v: number): this {
    this.view.setBigUint64(this.at, BigInt(v), true);
    this.at += 8;
    return this;
  }
  raw(b: Uint8Array): this {
    this.bytes.set(b, this.at);
    this.at += b.length;
    return this;
  }
}

function localHeader(e: Pick<Written, 'name' | 'flags'>): Uint8Array {
  const h = new Header(30 + e.name.length).u32(0x04034b50).u16(20).u16(e.flags).u16(DEFLATE).u16(DOS_TIME).u16(DOS_DATE);
  return h.u32(0).u32(0).u32(0).u16(e.name.length).u16(0).raw(e.name).bytes;
}

function dataDescriptor(e: Written): Uint8Array {
  return new Header(16).u32(0x08074b50).u32(e.crc).u32(e.compressedSize).u32(e.size).bytes;
}

function centralRecord(e: Written): Uint8Array {
  const h = new Header(46 + e.name.length).u32(0x02014b50).u16(20).u16(20).u16(e.flags).u16(DEFLATE).u16(DOS_TIME).u16(DOS_DATE);
  h.u32(e.crc).u32(e.compressedSize).u32(e.size).u16(e.name.length).u16(0).u16(0).u16(0).u16(0).u32(0).u32(e.offset);
  return h.raw(e.name).bytes;
}

/** The end records; zip64 ones when a count or offset does not fit the classic fields, as archive/zip decides. */
function endRecords(count: number, cdOffset: number, cdSize: number): Uint8Array {
  const big = count >= 0xffff || cdOffset >= 0xffffffff || cdSize >= 0xffffffff;
  const end = new Header(22).u32(0x06054b50).u16(0).u16(0);
  if (!big) return end.u16(count).u16(count).u32(cdSize).u32(cdOffset).u16(0).bytes;
  end.u16(0xffff).u16(0xffff).u32(0xffffffff).u32(0xffffffff).u16(0);
  const end64 = new Header(56).u32(0x06064b50).u64(44).u16(45).u16(45).u32(0).u32(0).u64(count).u64(count).u64(cdSize).u64(cdOffset);
  const locator = new Header(20)
    .u32(0x07064b50)
    .u32(0)
    .u64(cdOffset + cdSize)
    .u32(1);
  const out = new Uint8Array(56 + 20 + 22);
  out.set(end64.bytes, 0);
  out.set(locator.bytes, 56);
  out.set(end.bytes, 76);
  return out;
}

/**
 * Compresses one file's chunks with a native raw-deflate stream, handing the output to `emit` as it
 * comes. Returns the compressed size. A failing `emit` aborts the stream rather than leaving it waiting.
 */
async function deflateInto(input: AsyncIterable<Uint8Array>, emit: (c: Uint8Array) => Promise<void>): Promise<number> {
  const cs = new CompressionStream('deflate-raw');
  const writer = cs.writable.getWriter();
  const reader = cs.readable.getReader();
  let compressedSize = 0;
  const pump = (async () => {
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      compressedSize += r.value.length;
      await emit(r.value);
    }
  })();
  pump.catch((err) => writer.abort(err).catch(() => {}));
  try {
    for await (const chunk of input) {
      await writer.ready;
      await writer.write(chunk as Uint8Array<ArrayBuffer>);
    }
    await writer.close();
  } catch (err) {
    await reader.cancel(err).catch(() => {});
    await pump.catch(() => {});
    throw err;
  }
  await pump;
  return compressedSize;
}

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
  const enc = new TextEncoder();
  let zipSize = 0;
  const emit = async (c: Uint8Array) => {
    zipSize += c.length;
    await sink!(c);
  };
  const written: Written[] = [];
  const hashed: HashedFile[] = [];
  let uncompressedSize = 0;
  for (const f of files) {
    opts.signal?.throwIfAborted();
    const name = prefix + f.path;
    const sha = createHash('sha256');
    let crc = 0;
    let size = 0;
    // Go's Create refuses a file that grew since it was listed; a zip must not disagree with the list it was checked against.
    async function* checked(): AsyncIterable<Uint8Array> {
      for await (const chunk of open(f.path)) {
        size += chunk.length;
        if (size > f.size) throw new Error(`${f.path} grew while it was being zipped (listed with ${f.size} bytes); run again`);
        sha.update(chunk);
        crc = Bun.hash.crc32(chunk, crc);
        opts.signal?.throwIfAborted();
        yield chunk;
      }
      if (size !== f.size) throw new Error(`${f.path} shrank while it was being zipped (listed with ${f.size} bytes); run again`);
    }
    if (sink) {
      const nameBytes = enc.encode(name);
      // Names are UTF-8; the flag says so only when it matters, as archive/zip does.
      const flags = FLAG_DESCRIPTOR | (nameBytes.length !== name.length ? FLAG_UTF8 : 0);
      const offset = zipSize;
      await emit(localHeader({ name: nameBytes, flags }));
      const compressedSize = await deflateInto(checked(), emit);
      const e: Written = { name: nameBytes, flags, crc: crc >>> 0, compressedSize, size, offset };
      await emit(dataDescriptor(e));
      written.push(e);
    } else {
      for await (const _ of checked());
    }
    hashed.push({ name, sha256Hex: sha.digest('hex') });
    uncompressedSize += size;
  }
  if (sink) {
    const cdOffset = zipSize;
    for (const e of written) await emit(centralRecord(e));
    await emit(endRecords(written.length, cdOffset, zipSize - cdOffset));
  }
  return { h1: hash1(hashed), files: files.length, uncompressedSize, zipSize };
}
