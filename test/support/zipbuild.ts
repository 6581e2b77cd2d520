/**
 * Builds zip archives for tests: valid module zips, and deliberately broken
 * ones (every header field can be overridden). Writes either to memory or,
 * entry by entry, to any sink such as a file, so big archives never sit in RAM.
 */
import { deflateSync } from 'fflate';

export interface ZipEntrySpec {
  /** Full name inside the zip, e.g. "example.com/a@v1.0.0/a.go"; a trailing "/" makes a directory entry. */
  name: string;
  data?: Uint8Array | string;
  /** 0 = store, 8 = deflate (default for non-empty files), anything else is written as-is with stored bytes. */
  method?: number;
  /** Defaults to Unix (3). */
  creatorOS?: number;
  /** Defaults to Unix mode 0100644 for files, 040755 for directories, in the high 16 bits. */
  externalAttrs?: number;
  flags?: number;
  /** Write sizes and CRC in a trailing data descriptor (flag bit 3), as Go's archive/zip writer does. */
  dataDescriptor?: boolean;
  // Overrides for broken archives:
  declaredSize?: number;
  crc32?: number;
  rawName?: Uint8Array;
  localName?: string;
  /** Bytes written as the entry's data instead of compressing `data`. */
  compressed?: Uint8Array;
}

export interface ZipOptions {
  /** Write zip64 records (per-entry extra fields and a zip64 end record) even when not needed. */
  zip64?: boolean;
  comment?: string;
}

const enc = new TextEncoder();
const bytesOf = (d: Uint8Array | string | undefined) => (typeof d === 'string' ? enc.encode(d) : (d ?? new Uint8Array(0)));

class Bytes {
  private parts: number[] = [];
  u16(v: number) {
    this.parts.push(v & 0xff, (v >>> 8) & 0xff);
    return this;
  }
  u32(v: number) {
    return this.u16(v & 0xffff).u16(Math.floor(v / 0x10000) & 0xffff);
  }
  u64(v: number) {
    return this.u32(v % 0x100000000).u32(Math.floor(v / 0x100000000));
  }
  raw(b: Uint8Array) {
    for (const x of b) this.parts.push(x);
    return this;
  }
  done() {
    return Uint8Array.from(this.parts);
  }
}

interface CentralRecord {
  spec: ZipEntrySpec;
  name: Uint8Array;
  crc: number;
  csize: number;
  usize: number;
  offset: number;
}

/**
 * Encodes a zip one entry at a time: add() and finish() return the bytes to
 * append, so callers decide where they go. Only central directory records are kept.
 */
export class ZipWriter {
  private offset = 0;
  private central: CentralRecord[] = [];
  private out: Uint8Array[] = [];

  constructor(private readonly opts: ZipOptions = {}) {}

  private emit(chunk: Uint8Array) {
    this.offset += chunk.length;
    this.out.push(chunk);
  }

  private take(): Uint8Array[] {
    const out = this.out;
    this.out = [];
    return out;
  }

  add(spec: ZipEntrySpec): Uint8Array[] {
    const data = bytesOf(spec.data);
    const isDir = spec.name.endsWith('/');
    const method = spec.method ?? (isDir || data.length === 0 ? 0 : 8);
    const body = spec.compressed ?? (method === 8 ? deflateSync(data, { level: 6 }) : data);
    const crc = spec.crc32 ?? Bun.hash.crc32(data) >>> 0;
    const usize = spec.declaredSize ?? data.length;
    const name = spec.rawName ?? enc.encode(spec.name);
    const localName = spec.localName !== undefined ? enc.encode(spec.localName) : name;
    const dd = spec.dataDescriptor ?? false;
    const z64 = this.opts.zip64 ?? false;
    const flags = (spec.flags ?? 0x800) | (dd ? 8 : 0);
    const local = new Bytes()
      .u32(0x04034b50)
      .u16(z64 ? 45 : 20)
      .u16(flags)
      .u16(method)
      .u16(0)
      .u16(0x21);
    if (dd) local.u32(0).u32(0).u32(0);
    else if (z64) local.u32(crc).u32(0xffffffff).u32(0xffffffff);
    else local.u32(crc).u32(body.length).u32(usize);
    const localExtra = z64 && !dd ? new Bytes().u16(1).u16(16).u64(usize).u64(body.length).done() : new Uint8Array(0);
    local.u16(localName.length).u16(localExtra.length).raw(localName).raw(localExtra);
    this.central.push({ spec: { ...spec, flags }, name, crc, csize: body.length, usize, offset: this.offset });
    this.emit(local.done());
    this.emit(body);
    if (dd) this.emit(new Bytes().u32(0x08074b50).u32(crc).u32(body.length).u32(usize).done());
    return this.take();
  }

  finish(): Uint8Array[] {
    const z64 = this.opts.zip64 ?? false;
    const start = this.offset;
    for (const r of this.central) {
      const isDir = r.spec.name.endsWith('/');
      const attrs = r.spec.externalAttrs ?? ((isDir ? 0o40755 : 0o100644) * 0x10000) >>> 0;
      const method = r.spec.method ?? (isDir || bytesOf(r.spec.data).length === 0 ? 0 : 8);
      const extra = z64 ? new Bytes().u16(1).u16(24).u64(r.usize).u64(r.csize).u64(r.offset).done() : new Uint8Array(0);
      const c = new Bytes()
        .u32(0x02014b50)
        .u16(((r.spec.creatorOS ?? 3) << 8) | 45)
        .u16(z64 ? 45 : 20);
      c.u16(r.spec.flags!).u16(method).u16(0).u16(0x21).u32(r.crc);
      if (z64) c.u32(0xffffffff).u32(0xffffffff);
      else c.u32(r.csize).u32(r.usize);
      c.u16(r.name.length)
        .u16(extra.length)
        .u16(0)
        .u16(0)
        .u16(0)
        .u32(attrs)
        .u32(z64 ? 0xffffffff : r.offset);
      this.emit(c.raw(r.name).raw(extra).done());
    }
    const size = this.offset - start;
    const n = this.central.length;
    if (z64) {
      const end64At = this.offset;
      this.emit(new Bytes().u32(0x06064b50).u64(44).u16(45).u16(45).u32(0).u32(0).u64(n).u64(n).u64(size).u64(start).done());
      this.emit(new Bytes().u32(0x07064b50).u32(0).u64(end64At).u32(1).done());
    }
    const comment = enc.encode(this.opts.comment ?? '');
    const e = new Bytes().u32(0x06054b50).u16(0).u16(0);
    if (z64) e.u16(0xffff).u16(0xffff).u32(0xffffffff).u32(0xffffffff);
    else
      e.u16(n & 0xffff)
        .u16(n & 0xffff)
        .u32(size)
        .u32(start);
    this.emit(e.u16(comment.length).raw(comment).done());
    return this.take();
  }
}

function concat(chunks: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) out.set(c, at), (at += c.length);
  return out;
}

/** An in-memory zip of exactly these entries, in this order. */
export function buildZip(entries: ZipEntrySpec[], opts: ZipOptions = {}): Uint8Array<ArrayBuffer> {
  const w = new ZipWriter(opts);
  const chunks = entries.flatMap((e) => w.add(e));
  return concat([...chunks, ...w.finish()]);
}

export interface ModuleZipOptions extends ZipOptions {
  /** Also write an entry for every directory (as `zip -r` does); they count in the h1 hash. */
  directories?: boolean;
  /** Compression for every file; default deflate. */
  method?: 0 | 8;
  dataDescriptor?: boolean;
}

/** The entries of a valid module zip: every file under "{module}@{version}/". */
export function moduleZipEntries(
  module: string,
  version: string,
  files: Record<string, string | Uint8Array>,
  opts: ModuleZipOptions = {},
): ZipEntrySpec[] {
  const prefix = `${module}@${version}/`;
  const entries: ZipEntrySpec[] = [];
  const dirs = new Set<string>();
  for (const [path, data] of Object.entries(files)) {
    if (opts.directories) {
      const parts = path.split('/').slice(0, -1);
      for (let i = 1; i <= parts.length; i++) {
        const d = parts.slice(0, i).join('/') + '/';
        if (!dirs.has(d)) dirs.add(d), entries.push({ name: prefix + d });
      }
    }
    entries.push({ name: prefix + path, data, method: opts.method, dataDescriptor: opts.dataDescriptor });
  }
  return entries;
}

/** A valid module zip with the "{module}@{version}/" prefix, in memory. */
export function buildModuleZip(
  module: string,
  version: string,
  files: Record<string, string | Uint8Array>,
  opts: ModuleZipOptions = {},
): Uint8Array<ArrayBuffer> {
  return buildZip(moduleZipEntries(module, version, files, opts), opts);
}

/** Streams entries to a file as they are produced; returns the zip's size in bytes. */
export async function writeZipFile(
  path: string,
  entries: Iterable<ZipEntrySpec> | AsyncIterable<ZipEntrySpec>,
  opts: ZipOptions = {},
): Promise<number> {
  await Bun.write(path, ''); // Bun's FileSink does not truncate: a shorter zip would keep the old tail
  const sink = Bun.file(path).writer({ highWaterMark: 1 << 20 });
  const w = new ZipWriter(opts);
  let size = 0;
  const write = async (chunks: Uint8Array[]) => {
    for (const c of chunks) sink.write(c), (size += c.length);
    await sink.flush();
  };
  for await (const e of entries) await write(w.add(e));
  await write(w.finish());
  await sink.end();
  return size;
}
