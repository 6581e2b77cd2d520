/**
 * A module zip's content work done while its bytes go by: the local file headers are parsed in order, each
 * entry inflated and hashed (SHA-256 for the h1 line, CRC-32 and size), so that once the zip is stored only
 * its central directory needs reading (zip-check.ts checkStreamedZip compares the two).
 *
 * It only ever follows: whatever it does not understand (a stored entry with a data descriptor, whose end
 * cannot be found without the directory; encryption; a method other than store and deflate; data it cannot
 * inflate; a prefix before the first entry) makes it give up, and the caller checks the stored zip the old
 * way, which gives the verdict. So it never refuses anything, and any doubt costs time, not correctness.
 *
 * Memory stays bounded: nothing is kept but a few header bytes between chunks, one inflater, the root
 * go.mod and one line per entry; inflated output is hashed as it comes and each step's output is bounded.
 */
import { createHash, type Hash } from 'node:crypto';
import zlib from 'node:zlib';

/** One entry as its local header and data showed it. */
export interface StreamedEntry {
  /** Offset of its local file header. */
  offset: number;
  /** Decoded name; null when the bytes are not valid UTF-8. */
  name: string | null;
  method: number;
  compressedSize: number;
  /** Bytes the data inflated to. */
  size: number;
  /** CRC-32 of the inflated data. */
  crc32: number;
  /** The CRC-32 its data descriptor records, read where zip-check.ts reads it; null without a descriptor. */
  descriptorCrc: number | null;
  sha256Hex: string;
}

export interface ZipStreamLimits {
  /** Most inflated bytes in all (the go command's limit on a module's content). */
  maxZipFile: number;
  maxGoMod: number;
  maxEntries: number;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_DESCRIPTOR = 0x08074b50;
const LOCAL_LEN = 30;
/** Signature, CRC, two 64-bit sizes and the next record's signature: all a descriptor's end needs to be found. */
const DESCRIPTOR_LOOKAHEAD = 4 + 4 + 16 + 4;
/** A deflated entry whose data is all at hand and inflates to no more than this is inflated in one call. */
const ONE_CALL_OUTPUT = 1 << 20;
/** Compressed bytes per inflater write: 64 KiB expands to at most ~66 MiB, seen 16 KiB at a time. */
const FEED = 64 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

type Phase =
  | { kind: 'header' }
  /** Data whose compressed size the local header gives. */
  | { kind: 'data'; left: number }
  /** Deflated data with a descriptor after it: it ends where the inflater stops. */
  | { kind: 'open-deflate' }
  | { kind: 'descriptor' }
  | { kind: 'done' };

interface Current {
  offset: number;
  name: string | null;
  method: number;
  flags: number;
  compressedSize: number;
  /** The size the local header declares (0 with a descriptor). */
  declaredSize: number;
  size: number;
  crc: number;
  sha: Hash;
  goMod: Uint8Array[] | null;
  descriptorCrc: number | null;
}

class GiveUp extends Error {}

/** A streaming inflater that tells where its deflate stream ended (node:zlib counts the input it consumed). */
class Inflater {
  private readonly z = zlib.createInflateRaw();
  private failure: Error | undefined;
  fed = 0;

  constructor(sink: (chunk: Uint8Array) => void) {
    this.z.on('data', (c: Uint8Array) => {
      try {
        sink(c);
      } catch (err) {
        this.failure ??= err as Error;
        this.z.destroy();
      }
    });
    this.z.on('error', (err) => (this.failure ??= err));
  }

  /** Compressed bytes the stream consumed; less than `fed` once it has ended. */
  get consumed(): number {
    return this.z.bytesWritten;
  }

  /** Writes `bytes`, resolving once they are processed (a write past the stream's end is consumed by nothing). */
  async write(bytes: Uint8Array): Promise<void> {
    this.fed += bytes.length;
    await this.settled((done) => this.z.write(bytes, () => done()));
    if (this.failure) throw this.failure;
  }

  /** Waits for the stream's end (ending its input first, if it has not ended by itself); throws unless it ended properly. */
  async finish(): Promise<void> {
    if (!this.failure && !this.z.readableEnded) {
      await this.settled((done) => {
        this.z.once('end', done);
        if (!this.z.writableEnded) this.z.end();
      });
    }
    if (this.failure) throw this.failure;
  }

  /** Runs `start`, resolving when it says so or when the stream fails or closes, whichever comes first. */
  private settled(start: (done: () => void) => void): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        this.z.off('error', done);
        this.z.off('close', done);
        this.z.off('end', done);
        resolve();
      };
      if (this.failure || this.z.destroyed) return resolve();
      this.z.once('error', done);
      this.z.once('close', done);
      start(done);
    });
  }

  destroy(): void {
    this.z.destroy();
  }
}

export class ZipStreamDigest {
  readonly entries: StreamedEntry[] = [];
  /** The root go.mod's bytes, when an entry of that name was seen. */
  goMod: Uint8Array | null = null;
  /** Why it stopped following; undefined while its entries are still good. */
  gaveUp: string | undefined;
  /** Bytes pushed so far. */
  bytes = 0;
  private phase: Phase = { kind: 'header' };
  private carry: Uint8Array = new Uint8Array(0);
  private cur: Current | undefined;
  private inflater: Inflater | undefined;
  private inflated = 0;

  /** goModName: the root go.mod's full name in the zip ("example.com/m@v1.0.0/go.mod"). */
  constructor(
    private readonly goModName: string,
    private readonly limits: ZipStreamLimits,
  ) {}

  /** Takes the zip's next bytes; never throws (a problem makes it give up). The chunk is not kept. */
  async push(chunk: Uint8Array): Promise<void> {
    this.bytes += chunk.length;
    if (this.gaveUp !== undefined || this.phase.kind === 'done') return;
    let buf = chunk;
    if (this.carry.length > 0) {
      buf = new Uint8Array(this.carry.length + chunk.length);
      buf.set(this.carry);
      buf.set(chunk, this.carry.length);
      this.carry = new Uint8Array(0);
    }
    try {
      await this.consume(buf);
    } catch (err) {
      this.giveUp(err instanceof GiveUp ? err.message : `unexpected data (${(err as Error).message})`);
    }
  }

  /** Stops following (the fill failed, or the caller is done with it). */
  close(): void {
    this.inflater?.destroy();
    this.inflater = undefined;
  }

  private giveUp(reason: string): void {
    this.gaveUp ??= reason;
    this.close();
    this.carry = new Uint8Array(0);
    this.cur = undefined;
  }

  private async consume(buf: Uint8Array): Promise<void> {
    let p = 0;
    while (p < buf.length && this.gaveUp === undefined) {
      const phase = this.phase;
      if (phase.kind === 'done') return;
      if (phase.kind === 'header') {
        const n = this.header(buf, p);
        if (n === 0) break;
        p += n;
      } else if (phase.kind === 'data') p += await this.knownData(buf.subarray(p), phase);
      else if (phase.kind === 'open-deflate') p += await this.openDeflate(buf.subarray(p));
      else {
        const n = this.descriptor(buf, p);
        if (n === 0) break;
        p += n;
      }
    }
    if (p < buf.length && this.gaveUp === undefined && this.phase.kind !== 'done') this.carry = buf.slice(p);
  }

  /** Parses a local header at p; 0 when it is not all here yet. */
  private header(buf: Uint8Array, p: number): number {
    if (buf.length - p < 4) return 0;
    const dv = view(buf);
    if (dv.getUint32(p, true) !== SIG_LOCAL) {
      // Past the entries (the central directory, or something the directory check will judge).
      this.phase = { kind: 'done' };
      return buf.length - p;
    }
    if (buf.length - p < LOCAL_LEN) return 0;
    const nameLen = dv.getUint16(p + 26, true);
    const extraLen = dv.getUint16(p + 28, true);
    const len = LOCAL_LEN + nameLen + extraLen;
    if (buf.length - p < len) return 0;
    if (this.entries.length >= this.limits.maxEntries) throw new GiveUp('too many entries');
    const flags = dv.getUint16(p + 6, true);
    const method = dv.getUint16(p + 8, true);
    let compressedSize = dv.getUint32(p + 18, true);
    let declaredSize = dv.getUint32(p + 22, true);
    let name: string | null = null;
    try {
      name = utf8.decode(buf.subarray(p + LOCAL_LEN, p + LOCAL_LEN + nameLen));
    } catch {}
    if (flags & 1) throw new GiveUp('an encrypted entry');
    if (method !== 0 && method !== 8) throw new GiveUp(`compression method ${method}`);
    const descriptor = (flags & 8) !== 0;
    if (descriptor && method === 0) throw new GiveUp('a stored entry with a data descriptor');
    if (!descriptor && (compressedSize === 0xffffffff || declaredSize === 0xffffffff)) {
      const sizes = zip64Sizes(buf.subarray(p + LOCAL_LEN + nameLen, p + len), declaredSize === 0xffffffff, compressedSize === 0xffffffff);
      if (!sizes) throw new GiveUp('zip64 sizes are missing from a local header');
      if (sizes.u !== undefined) declaredSize = sizes.u;
      if (sizes.c !== undefined) compressedSize = sizes.c;
    }
    this.cur = {
      offset: this.bytes - (buf.length - p),
      name,
      method,
      flags,
      compressedSize,
      declaredSize: descriptor ? 0 : declaredSize,
      size: 0,
      crc: 0,
      sha: createHash('sha256'),
      goMod: name === this.goModName ? [] : null,
      descriptorCrc: null,
    };
    this.phase = descriptor ? { kind: 'open-deflate' } : { kind: 'data', left: compressedSize };
    if (!descriptor && compressedSize === 0) {
      // An empty deflate stream is still two bytes: none at all is corrupt, which the full check will say.
      if (method === 8) throw new GiveUp('a deflated entry without data');
      this.endEntry();
    }
    return len;
  }

  private sink = (chunk: Uint8Array): void => {
    const c = this.cur!;
    c.size += chunk.length;
    this.inflated += chunk.length;
    if (this.inflated > this.limits.maxZipFile) throw new GiveUp('more content than a module may hold');
    if (c.flags & 8 ? false : c.size > c.declaredSize) throw new GiveUp('an entry larger than its header says');
    c.sha.update(chunk);
    c.crc = Bun.hash.crc32(chunk, c.crc);
    if (c.goMod) {
      if (c.size > this.limits.maxGoMod) throw new GiveUp('a go.mod past its limit');
      c.goMod.push(chunk.slice());
    }
  };

  /** Data of known compressed size; returns the bytes taken. */
  private async knownData(bytes: Uint8Array, phase: { left: number }): Promise<number> {
    const c = this.cur!;
    const take = Math.min(phase.left, bytes.length);
    const piece = bytes.subarray(0, take);
    if (c.method === 0) this.sink(piece);
    else if (!this.inflater && take === c.compressedSize && c.declaredSize <= ONE_CALL_OUTPUT) {
      const out = oneCall(piece, c.declaredSize);
      if (!out || out.consumed !== take) throw new GiveUp('deflated data that does not end where its header says');
      this.sink(out.data);
    } else {
      this.inflater ??= new Inflater(this.sink);
      for (let i = 0; i < take; i += FEED) await this.inflater.write(piece.subarray(i, i + FEED));
      if (this.inflater.consumed !== this.inflater.fed) throw new GiveUp('deflated data that ends before its header says');
    }
    phase.left -= take;
    if (phase.left === 0) {
      if (this.inflater) {
        await this.inflater.finish();
        if (this.inflater.consumed !== c.compressedSize) throw new GiveUp('deflated data that does not end where its header says');
        this.inflater = undefined;
      }
      this.endEntry();
    }
    return take;
  }

  /** Deflated data that runs until the inflater stops; returns the bytes taken. */
  private async openDeflate(bytes: Uint8Array): Promise<number> {
    const c = this.cur!;
    if (!this.inflater) {
      // Most files are small and wholly in this chunk: one call inflates them and says where they end.
      const out = oneCall(bytes, ONE_CALL_OUTPUT);
      if (out) {
        this.sink(out.data);
        c.compressedSize = out.consumed;
        this.phase = { kind: 'descriptor' };
        return out.consumed;
      }
      this.inflater = new Inflater(this.sink);
    }
    const inf = this.inflater;
    for (let i = 0; i < bytes.length; i += FEED) {
      const before = inf.fed;
      await inf.write(bytes.subarray(i, i + FEED));
      if (inf.consumed < inf.fed) {
        // The deflate stream ended inside this write (or exactly at the end of an earlier one).
        await inf.finish();
        c.compressedSize = inf.consumed;
        this.inflater = undefined;
        this.phase = { kind: 'descriptor' };
        return i + Math.max(0, inf.consumed - before);
      }
    }
    return bytes.length;
  }

  /** The data descriptor after an entry's data at p; 0 when not enough is here yet. */
  private descriptor(buf: Uint8Array, p: number): number {
    if (buf.length - p < DESCRIPTOR_LOOKAHEAD) return 0;
    const dv = view(buf);
    const base = dv.getUint32(p, true) === SIG_DESCRIPTOR ? 4 : 0;
    this.cur!.descriptorCrc = dv.getUint32(p + base, true);
    // The sizes are 32 or 64 bits; which, only the next record's signature tells (the directory check confirms it).
    for (const len of [base + 12, base + 20]) {
      const next = dv.getUint32(p + len, true);
      if (next === SIG_LOCAL || next === SIG_CENTRAL) {
        this.endEntry();
        return len;
      }
    }
    throw new GiveUp('a data descriptor not followed by a record');
  }

  private endEntry(): void {
    const c = this.cur!;
    this.entries.push({
      offset: c.offset,
      name: c.name,
      method: c.method,
      compressedSize: c.compressedSize,
      size: c.size,
      crc32: c.crc >>> 0,
      descriptorCrc: c.descriptorCrc,
      sha256Hex: c.sha.digest('hex'),
    });
    if (c.goMod) {
      const all = new Uint8Array(c.size);
      let at = 0;
      for (const k of c.goMod) all.set(k, at), (at += k.length);
      this.goMod = all;
    }
    this.cur = undefined;
    this.phase = { kind: 'header' };
  }
}

/** Inflates `bytes` in one call when its deflate stream ends inside them with at most maxOutput bytes of output. */
function oneCall(bytes: Uint8Array, maxOutput: number): { data: Uint8Array; consumed: number } | null {
  try {
    const { buffer, engine } = zlib.inflateRawSync(bytes, { info: true, maxOutputLength: Math.max(1, maxOutput) }) as unknown as {
      buffer: Uint8Array;
      engine: { bytesWritten: number };
    };
    return { data: buffer, consumed: engine.bytesWritten };
  } catch {
    return null;
  }
}

/** The zip64 extra field's sizes, in the order a local header gives them (uncompressed first). */
function zip64Sizes(extra: Uint8Array, needU: boolean, needC: boolean): { u?: number; c?: number } | null {
  const dv = view(extra);
  for (let p = 0; p + 4 <= extra.length; ) {
    const tag = dv.getUint16(p, true);
    const size = dv.getUint16(p + 2, true);
    p += 4;
    if (p + size > extra.length) return null;
    if (tag === 0x0001) {
      const out: { u?: number; c?: number } = {};
      let q = p;
      for (const key of [needU ? 'u' : null, needC ? 'c' : null] as const) {
        if (!key) continue;
        if (q + 8 > p + size) return null;
        const v = dv.getBigUint64(q, true);
        if (v > BigInt(Number.MAX_SAFE_INTEGER)) return null;
        out[key] = Number(v);
        q += 8;
      }
      return out;
    }
    p += size;
  }
  return null;
}
