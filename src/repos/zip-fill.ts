import type { Database } from '../db/open';
import { AppError, BadUpstream, PayloadTooLarge } from '../errors';
import { GoProtocolError } from '../goproxy/errors';
import { checkModuleZip, checkStreamedZip, DEFAULT_ZIP_LIMITS, readerFromBytes } from '../goproxy/zip-check';
import { ZipStreamDigest } from '../goproxy/zip-stream';
import type { BlobStore } from '../storage/blob-store';
import { commitBlob, discardStaged, type StagedBlob, stageBlob } from '../storage/content-addressed';
import { type FirstClient, tapped } from './arriving';
import { withBlobWriteFence } from './blob-fence';
import { BLOB_WINDOW_BYTES, blobReader } from './blob-reader';
import { pacedBody, pacedReader } from './periodic-full-gc';
import { readLimited } from './read-limited';
import type { UpstreamBody, UpstreamClient } from './upstream';
import type { NewVersionRow } from './version-rows';

/**
 * Zips announced smaller than this are read whole and checked in memory before they are served (a bad one is
 * a clean 502); larger ones, and any of unknown length, are streamed to their first client as they arrive.
 */
export const STREAM_ZIPS_FROM_BYTES = 1 << 20;

/** What a proxy repository gives the zip fill: where the zip comes from, how it is checked and where it lands. */
export interface ZipFillContext {
  storage: BlobStore;
  db: Database;
  upstream: UpstreamClient;
  fullGcEveryBytes: number;
  /** Starts reading the checksum database's record now, so the lookup runs while the zip downloads. */
  prefetchChecksum(): void;
  /** Throws unless `h1` is the checksum database's record (checksum-check.ts). */
  verifyChecksum(h1: string, url: string): Promise<void>;
  /** Fills the version row's zip columns, in the transaction that holds off the blob collector. */
  fillRow(tx: Database, set: Partial<NewVersionRow>): Promise<void>;
}

/**
 * Fetches one module zip into storage, streaming it to the first client's `tap` as it is staged
 * unless it is small (STREAM_ZIPS_FROM_BYTES: see fillSmallZip).
 * Staging hashes the bytes as they are written and inflates and hashes the zip's entries meanwhile
 * (ZipStreamDigest); the zip rules and `h1:` are then checked from the staged blob's central directory
 * (or, where the streamed digest gave up, by reading the whole blob again); then the checksum database
 * is asked (its lookup fetched meanwhile); only then does the client get the last bytes, while the blob
 * is committed to its content address and the row written. Any failure of those checks aborts the
 * client's body and stores nothing; a failure to commit a file the client has whole is the fill's alone.
 * Returns the bytes stored.
 */
export async function fillZip(
  c: ZipFillContext,
  module: string,
  version: string,
  path: string,
  signal: AbortSignal,
  first?: FirstClient,
): Promise<number> {
  const res = await c.upstream.open(path, signal);
  const max = DEFAULT_ZIP_LIMITS.maxZipFile;
  const tooLarge = () => new BadUpstream(`upstream ${res.url} sent a zip larger than the go command's limit of ${max} bytes`);
  if (res.contentLength !== null && res.contentLength > max) {
    await res.body.cancel().catch(() => {});
    throw tooLarge();
  }
  c.prefetchChecksum();
  if (res.contentLength !== null && res.contentLength < STREAM_ZIPS_FROM_BYTES) return fillSmallZip(c, module, version, res, signal, first);
  const client = first?.tap;
  client?.begin(res.contentLength);
  // The entries are inflated and hashed as the bytes go by, so that the check after staging reads only the directory.
  const digest = new ZipStreamDigest(`${module}@${version}/go.mod`, DEFAULT_ZIP_LIMITS);
  let staged: StagedBlob;
  try {
    const body = digested(tapped(pacedBody(res.body, c.fullGcEveryBytes).stream, client), digest);
    staged = await stageBlob(c.storage, body, { maxBytes: max, signal });
  } catch (err) {
    if (err instanceof PayloadTooLarge) throw tooLarge();
    throw err instanceof AppError ? err : new BadUpstream(`upstream ${res.url}: the zip could not be stored (${(err as Error).message})`);
  } finally {
    // Nothing more comes: an inflater left open by a body that ended mid-entry is let go now, not at collection.
    digest.close();
  }
  let h1: string;
  try {
    const reader = pacedReader(blobReader(c.storage, staged.tmpKey, staged.size), c.fullGcEveryBytes);
    ({ h1 } = await checkStreamedZip(reader, module, version, digest, { signal, windowBytes: BLOB_WINDOW_BYTES }));
  } catch (err) {
    await discardStaged(c.storage, staged).catch(() => {});
    // Our storage failing mid-check is not the upstream's fault: that error goes on as itself (a 503).
    if (!(err instanceof GoProtocolError) && !signal.aborted) throw err;
    throw new BadUpstream(`upstream ${res.url} served an invalid module zip: ${(err as Error).message}`);
  }
  try {
    await c.verifyChecksum(h1, res.url);
  } catch (err) {
    await discardStaged(c.storage, staged).catch(() => {});
    throw err;
  }
  client?.finish();
  return commitZip(c, staged, h1);
}

/**
 * A zip announced smaller than STREAM_ZIPS_FROM_BYTES is read whole and checked in memory: a bad one is a
 * clean 502, and a good one is handed to the first client (`checked`) before it is staged and committed, so
 * its client does not wait for storage's fsyncs or the row's write.
 */
async function fillSmallZip(
  c: ZipFillContext,
  module: string,
  version: string,
  res: UpstreamBody,
  signal: AbortSignal,
  first?: FirstClient,
): Promise<number> {
  // The upstream's body ends where it said (upstream.ts), and that is under the limit.
  const bytes = await readLimited(
    res.body,
    STREAM_ZIPS_FROM_BYTES,
    () => new BadUpstream(`upstream ${res.url} sent a longer zip than it announced`),
  );
  let h1: string;
  try {
    ({ h1 } = await checkModuleZip(readerFromBytes(bytes), module, version, { signal }));
  } catch (err) {
    if (!(err instanceof GoProtocolError) || signal.aborted) throw err;
    throw new BadUpstream(`upstream ${res.url} served an invalid module zip: ${err.message}`);
  }
  await c.verifyChecksum(h1, res.url);
  first?.checked?.(bytes);
  const staged = await stageBlob(c.storage, bytes, { signal });
  return commitZip(c, staged, h1);
}

/** Commits a checked zip and fills its row; returns its size. */
async function commitZip(c: ZipFillContext, staged: StagedBlob, h1: string): Promise<number> {
  // From the blob's commit to the row's, the blob collector is held off (see blob-fence.ts).
  await withBlobWriteFence(c.db, async (tx) => {
    const key = await commitBlob(c.storage, staged);
    await c.fillRow(tx, { zipKey: key, zipSize: staged.size, zipSha256: staged.sha256, h1 });
  });
  return staged.size;
}

/** The body's chunks handed to `digest` as they pass (each before the next is read). */
function digested(body: ReadableStream<Uint8Array>, digest: ZipStreamDigest): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) return controller.close();
        await digest.push(value);
        controller.enqueue(value);
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}
