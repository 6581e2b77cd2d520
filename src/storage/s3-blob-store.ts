import {
  AbortMultipartUploadCommand,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  type ListMultipartUploadsCommandOutput,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { FetchHttpHandler } from '@smithy/fetch-http-handler';
import type { S3Config } from '../config';
import { NotFound, RangeNotSatisfiable, ServiceUnavailable } from '../errors';
import type { BlobEntry, BlobStat, BlobStore, ByteRange } from './blob-store';
import { STAGED_PREFIX } from './content-addressed';
import { assertValidKey, assertValidRange } from './keys';

export interface S3BlobStoreOptions {
  /**
   * Milliseconds to wait for the answer's headers on requests that carry no body (get, head, list,
   * delete): a frozen S3 server then costs a few of these (the SDK retries). Writes have their own
   * deadline (writeTimeoutMs). Empty: 10 000.
   */
  quickRequestTimeoutMs?: number;
  /** Keys per ListObjectsV2 page; empty: the server's default (1000 on AWS). Tests lower it to exercise paging. */
  listPageSize?: number;
  /**
   * Milliseconds one write request (a PutObject of at most one part, one UploadPart, the
   * CompleteMultipartUpload) may take, SDK retries included: a deadline per part, not per upload, so a
   * slow but moving 500 MiB upload is never cut off while a frozen server costs one of these. Empty:
   * DEFAULT_S3_WRITE_TIMEOUT_MS (an 8 MiB part then needs at least ~280 KB/s).
   */
  writeTimeoutMs?: number;
  /** Waits before retrying the abort of a failed multipart upload the server did not take at once. Tests shorten them. */
  abortRetryDelaysMs?: number[];
}

export const DEFAULT_S3_WRITE_TIMEOUT_MS = 30_000;
/** How long a failed upload waits for its abort before answering; past it the abort continues in the background. */
const ABORT_WAIT_MS = 2_000;

/**
 * A write the server did not finish within its deadline: a 503 with Retry-After, as a dependency
 * outage is, never a 4xx (the client's bytes were fine) and never a hang.
 */
export class StorageWriteTimeout extends ServiceUnavailable {
  constructor(what: string, ms: number) {
    super(`the storage did not complete ${what} within ${ms} ms; nothing was published, try again shortly`);
  }
}

/** Multipart part size; above S3's 5 MiB minimum, and 10,000 parts of it allow 80 GiB. */
const PART_SIZE = 8 * 1024 * 1024;
/** Parts uploaded at once: a streamed put holds at most QUEUE_SIZE + 1 part buffers. */
const QUEUE_SIZE = 4;

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

interface AwsError {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

function isMissingObject(err: unknown): boolean {
  const e = err as AwsError | undefined;
  const name = e?.name ?? e?.Code;
  // A missing bucket is also a 404, but it is a broken configuration, not a missing blob.
  if (name === 'NoSuchBucket') return false;
  return name === 'NoSuchKey' || name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

function isInvalidRange(err: unknown): boolean {
  const e = err as AwsError | undefined;
  return (e?.name ?? e?.Code) === 'InvalidRange' || e?.$metadata?.httpStatusCode === 416;
}

/** Blobs as objects in one bucket, under an optional key prefix. */
export class S3BlobStore implements BlobStore {
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  /** Per-request options of bodiless requests (see quickRequestTimeoutMs). */
  private readonly quick: { requestTimeout: number };
  private readonly writeTimeoutMs: number;
  /** Multipart uploads whose abort is being retried in the background (close() waits for none of them). */
  private readonly pendingAborts = new Set<Promise<void>>();

  constructor(
    config: S3Config,
    private readonly options: S3BlobStoreOptions = {},
  ) {
    this.quick = { requestTimeout: options.quickRequestTimeoutMs ?? 10_000 };
    this.writeTimeoutMs = options.writeTimeoutMs ?? config.writeTimeoutMs ?? DEFAULT_S3_WRITE_TIMEOUT_MS;
    this.bucket = config.bucket;
    const trimmed = config.prefix.replace(/^\/+|\/+$/g, '');
    this.prefix = trimmed === '' ? '' : `${trimmed}/`;
    this.client = new S3Client({
      region: config.region,
      endpoint: config.endpoint,
      forcePathStyle: config.forcePathStyle,
      credentials:
        config.accessKeyId && config.secretAccessKey
          ? { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey }
          : undefined,
      // The SDK's default adds flexible checksums, which it sends on streamed bodies as aws-chunked
      // framing with a trailer; S3-compatible servers that do not decode it store the framing as data.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // Bun's fetch rather than its node:http emulation: measured against s3rver, 8 MiB parts grew
      // RSS by ~55 MiB instead of ~110 MiB, reads by ~35 instead of ~50 MiB, and bodies arrive as
      // web streams without a Readable.toWeb bridge.
      // Without a limit a server that accepts the connection and never answers hangs the request
      // forever. Every request here names its own (this.quick, or writeTimeoutMs in write()): this one
      // is the backstop for a request that would not.
      requestHandler: new FetchHttpHandler({ requestTimeout: 120_000 }),
    });
  }

  private objectKey(key: string): string {
    assertValidKey(key);
    return this.prefix + key;
  }

  async get(key: string, range?: ByteRange): Promise<ReadableStream<Uint8Array>> {
    const Key = this.objectKey(key);
    if (range) assertValidRange(range);
    // "bytes=0-" on an empty object is a 416 on S3; asking for the whole object is the same read and works.
    const Range = range && (range.start > 0 || range.end !== undefined) ? `bytes=${range.start}-${range.end ?? ''}` : undefined;
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key, Range }), this.quick);
      if (!out.Body) throw new Error(`S3 returned no body for ${key}`);
      return out.Body.transformToWebStream() as ReadableStream<Uint8Array>;
    } catch (err) {
      if (isMissingObject(err)) throw new NotFound(`blob ${key} not found`);
      if (isInvalidRange(err)) {
        const stat = await this.head(key);
        if (!stat) throw new NotFound(`blob ${key} not found`);
        if (range?.start === 0) return new ReadableStream({ start: (c) => c.close() });
        throw new RangeNotSatisfiable(stat.size);
      }
      throw err;
    }
  }

  async head(key: string): Promise<(BlobStat & { modifiedAt: Date }) | null> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }), this.quick);
      return { size: out.ContentLength ?? 0, modifiedAt: out.LastModified ?? new Date() };
    } catch (err) {
      if (isMissingObject(err)) return null;
      throw err;
    }
  }

  async put(key: string, body: ReadableStream<Uint8Array> | Uint8Array | string): Promise<BlobStat> {
    const Key = this.objectKey(key);
    if (!(body instanceof ReadableStream)) {
      const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
      await this.write(new PutObjectCommand({ Bucket: this.bucket, Key, Body: bytes }), 'an object write');
      return { size: bytes.byteLength };
    }
    const reader = body.getReader();
    try {
      return { size: await this.putStream(Key, reader) };
    } catch (err) {
      // Tell the producer (an upstream fetch, a request body) to stop sending.
      await reader.cancel(err).catch(() => {});
      throw err;
    } finally {
      reader.releaseLock();
    }
  }

  /**
   * A streamed body of unknown length, in at most QUEUE_SIZE + 1 part buffers that are reused:
   * flat memory however large the body. Not lib-storage's Upload: it assembles every part with
   * Buffer.concat, and under Bun those copies are collected so late that RSS grew by ~300 MiB on a
   * 256 MiB to 1 GiB upload, against ~100-130 MiB here (measured against s3rver).
   */
  private async putStream(Key: string, reader: ReadableStreamDefaultReader<Uint8Array>): Promise<number> {
    // The first part is gathered as the chunks themselves: most bodies (.info, .mod, many zips)
    // end before PART_SIZE and go up as one PutObject without an 8 MiB buffer.
    const head: Uint8Array[] = [];
    let gathered = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        await this.write(new PutObjectCommand({ Bucket: this.bucket, Key, Body: concat(head, gathered) }), 'an object write');
        return gathered;
      }
      head.push(value);
      gathered += value.byteLength;
      if (gathered >= PART_SIZE) break;
    }

    const { UploadId } = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key }), this.quick);
    const target = { Bucket: this.bucket, Key, UploadId };
    const parts: CompletedPart[] = [];
    const free: Uint8Array[] = [];
    const inFlight = new Set<Promise<void>>();
    let partFailure: unknown;
    let pending: Uint8Array | undefined;
    let size = 0;
    let ended = false;

    // Copies the gathered chunks, then the rest of the body, into part buffers; returns the bytes placed.
    const fill = async (buf: Uint8Array): Promise<number> => {
      let filled = 0;
      while (filled < PART_SIZE) {
        pending ??= head.shift();
        if (!pending) {
          const { done, value } = await reader.read();
          if (done) {
            ended = true;
            break;
          }
          pending = value;
        }
        const take = Math.min(pending.byteLength, PART_SIZE - filled);
        buf.set(take === pending.byteLength ? pending : pending.subarray(0, take), filled);
        filled += take;
        pending = take === pending.byteLength ? undefined : pending.subarray(take);
      }
      size += filled;
      return filled;
    };

    try {
      for (let PartNumber = 1; ; PartNumber++) {
        const buf = free.pop() ?? new Uint8Array(PART_SIZE);
        const filled = await fill(buf);
        if (filled === 0 && PartNumber > 1) break;
        const upload: Promise<void> = this.write(
          new UploadPartCommand({ ...target, PartNumber, Body: buf.subarray(0, filled) }),
          `part ${PartNumber} of an upload`,
        )
          .then((out) => {
            parts.push({ PartNumber, ETag: out.ETag });
            free.push(buf);
          })
          .catch((err) => {
            partFailure ??= err;
          })
          .finally(() => inFlight.delete(upload));
        inFlight.add(upload);
        if (ended) break;
        while (inFlight.size >= QUEUE_SIZE) await Promise.race(inFlight);
        if (partFailure) throw partFailure;
      }
      await Promise.all(inFlight);
      if (partFailure) throw partFailure;
      parts.sort((a, b) => a.PartNumber! - b.PartNumber!);
      await this.write(new CompleteMultipartUploadCommand({ ...target, MultipartUpload: { Parts: parts } }), 'an upload');
      return size;
    } catch (err) {
      // Parts still in flight could land after an abort and be kept (and billed); let them settle first
      // (each is bounded by the write deadline).
      await Promise.all(inFlight);
      // A working server takes the abort at once, before the caller hears of the failure; a frozen one
      // is not waited for (the abort goes on being retried in the background).
      await Promise.race([this.abort(target), Bun.sleep(ABORT_WAIT_MS)]);
      throw err;
    }
  }

  /**
   * Sends a write under its deadline (see writeTimeoutMs): the per-attempt timeout and one abort signal
   * for all of the SDK's attempts. A write that runs out of time is a StorageWriteTimeout.
   */
  private async write<C extends { input: unknown }>(command: C, what: string): Promise<any> {
    const ms = this.writeTimeoutMs;
    const signal = AbortSignal.timeout(ms);
    try {
      return await this.client.send(command as any, { requestTimeout: ms, abortSignal: signal });
    } catch (err) {
      const name = (err as AwsError | undefined)?.name;
      if (signal.aborted || name === 'TimeoutError' || name === 'AbortError') throw new StorageWriteTimeout(what, ms);
      throw err;
    }
  }

  /**
   * Aborts a failed multipart upload, and when the server does not take the abort (it is the server
   * that failed), tries again in the background a few times: its parts are invisible yet stored (and
   * billed). The hourly sweep of staged leftovers (sweepPartial) is the backstop.
   */
  private abort({ Bucket, Key, UploadId }: { Bucket: string; Key: string; UploadId: string | undefined }): Promise<void> {
    if (!UploadId) return Promise.resolve();
    const target = { Bucket, Key, UploadId };
    const delays = this.options.abortRetryDelaysMs ?? [1_000, 5_000, 30_000, 120_000];
    const attempt = async () => {
      for (let i = 0; ; i++) {
        try {
          await this.client.send(new AbortMultipartUploadCommand(target), this.quick);
          return;
        } catch (err) {
          const e = err as AwsError;
          if ((e.name ?? e.Code) === 'NoSuchUpload' || e.$metadata?.httpStatusCode === 404 || i >= delays.length) return;
          await Bun.sleep(delays[i]);
        }
      }
    };
    const pending: Promise<void> = attempt().finally(() => this.pendingAborts.delete(pending));
    this.pendingAborts.add(pending);
    return pending;
  }

  /** Resolves when no abort is being retried; for tests. */
  async settled(): Promise<void> {
    while (this.pendingAborts.size > 0) await Promise.all(this.pendingAborts);
  }

  async move(from: string, to: string): Promise<void> {
    const source = this.objectKey(from);
    const CopySource = `${this.bucket}/${source.split('/').map(encodeURIComponent).join('/')}`;
    try {
      // CopyObject handles objects up to 5 GiB, far above any module zip.
      await this.write(new CopyObjectCommand({ Bucket: this.bucket, Key: this.objectKey(to), CopySource }), 'a copy');
    } catch (err) {
      if (isMissingObject(err)) throw new NotFound(`blob ${from} not found`);
      throw err;
    }
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: source }), this.quick);
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }), this.quick);
    } catch (err) {
      if (!isMissingObject(err)) throw err;
    }
  }

  async *list(prefix: string): AsyncIterable<string> {
    for await (const entry of this.listEntries(prefix)) yield entry.key;
  }

  async *listEntries(prefix: string): AsyncIterable<BlobEntry> {
    let ContinuationToken: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.prefix + prefix,
          ContinuationToken,
          MaxKeys: this.options.listPageSize,
        }),
        this.quick,
      );
      for (const object of page.Contents ?? []) {
        if (object.Key) {
          // An object without LastModified (no real server omits it) counts as new: the collector leaves it alone.
          yield { key: object.Key.slice(this.prefix.length), size: object.Size ?? 0, modifiedAt: object.LastModified ?? new Date() };
        }
      }
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  /**
   * Aborts multipart uploads of staged blobs begun more than maxAgeMs ago: the parts of a process
   * killed mid-upload, invisible to list() yet stored (and billed). Only keys under our `tmp/`
   * (staging is the only writer of streamed bodies, see content-addressed.ts), so another
   * application's uploads in a shared bucket are never touched. Servers without
   * ListMultipartUploads (NotImplemented) are skipped; the bucket's lifecycle rule is the backstop.
   */
  async sweepPartial(maxAgeMs: number, now = Date.now()): Promise<number> {
    let aborted = 0;
    let KeyMarker: string | undefined;
    let UploadIdMarker: string | undefined;
    do {
      let page: ListMultipartUploadsCommandOutput;
      try {
        page = await this.client.send(
          new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: `${this.prefix}${STAGED_PREFIX}`, KeyMarker, UploadIdMarker }),
          this.quick,
        );
      } catch (err) {
        const e = err as AwsError;
        if ((e.name ?? e.Code) === 'NotImplemented' || e.$metadata?.httpStatusCode === 501) return aborted;
        throw err;
      }
      for (const upload of page.Uploads ?? []) {
        if (!upload.Key || !upload.UploadId || !upload.Initiated || now - upload.Initiated.getTime() < maxAgeMs) continue;
        await this.client.send(
          new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: upload.Key, UploadId: upload.UploadId }),
          this.quick,
        );
        aborted++;
      }
      KeyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      UploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (KeyMarker);
    return aborted;
  }

  async check(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }), this.quick);
    } catch (err) {
      const e = err as AwsError;
      const status = e.$metadata?.httpStatusCode;
      throw new Error(`S3 bucket ${this.bucket} is not reachable: ${e.name ?? 'error'}${status ? ` (HTTP ${status})` : ''}`);
    }
  }

  /** Closes the client's pooled connections; for tests and shutdown. */
  destroy(): void {
    this.client.destroy();
  }
}
