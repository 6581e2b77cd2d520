import { PayloadTooLarge } from '../errors';
import type { BlobStore } from './blob-store';

/** A body written under a temporary key, hashed and counted, not yet addressable by its content. */
export interface StagedBlob {
  tmpKey: string;
  /** Lower-case hex. */
  sha256: string;
  size: number;
}

export interface StageOptions {
  /** Refuse bodies longer than this many bytes; empty: no limit. */
  maxBytes?: number;
  /** Aborting stops reading the body and removes what was written. */
  signal?: AbortSignal;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Where bodies are staged before they are checked and committed; backends sweep what a crash leaves here. */
export const STAGED_PREFIX = 'tmp/';

/**
 * A staged body is read back (validation) and then moved (commitBlob) or deleted; nothing refers to its tmp/ key,
 * and the move makes the blob's final name durable before the caller writes the row that points to it.
 */
const TRANSIENT = { transient: true } as const;

/** `blobs/sha256/ab/cdef…`: the two-character level keeps any one directory (or S3 listing) small. */
export function blobKeyFor(sha256Hex: string): string {
  if (!SHA256_HEX.test(sha256Hex)) throw new Error(`not a lower-case hex sha256: ${JSON.stringify(sha256Hex)}`);
  return `blobs/sha256/${sha256Hex.slice(0, 2)}/${sha256Hex.slice(2)}`;
}

function tooLarge(maxBytes: number): PayloadTooLarge {
  return new PayloadTooLarge(`body is larger than the limit of ${maxBytes} bytes`);
}

/**
 * Step one of two: streams the body to `tmp/<time>-<uuid>` while hashing and counting it. The caller
 * validates the staged blob (through a range reader on tmpKey) and then either commits it or
 * discards it; until commit, nothing refers to it by content.
 */
export async function stageBlob(
  store: BlobStore,
  body: ReadableStream<Uint8Array> | Uint8Array | string,
  options: StageOptions = {},
): Promise<StagedBlob> {
  const { maxBytes, signal } = options;
  signal?.throwIfAborted();
  // The time in the key lets sweepStaged tell a crash's leftover from a stage still in progress, on any backend.
  const tmpKey = `${STAGED_PREFIX}${Date.now()}-${crypto.randomUUID()}`;
  const hasher = new Bun.CryptoHasher('sha256');

  if (!(body instanceof ReadableStream)) {
    const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
    if (maxBytes !== undefined && bytes.byteLength > maxBytes) throw tooLarge(maxBytes);
    hasher.update(bytes);
    await store.put(tmpKey, bytes, TRANSIENT);
    return { tmpKey, sha256: hasher.digest('hex'), size: bytes.byteLength };
  }

  // Our own failure (too large, aborted) is remembered so that it, not whatever the backend
  // makes of an errored stream, is what the caller sees.
  let failure: unknown;
  let size = 0;
  const reader = body.getReader();
  let onAbort: (() => void) | undefined;
  const hashed = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        onAbort = () => {
          failure ??= signal?.reason;
          controller.error(failure);
          reader.cancel(failure).catch(() => {});
        };
        signal?.addEventListener('abort', onAbort, { once: true });
      },
      async pull(controller) {
        const { done, value } = await reader.read();
        if (failure !== undefined) return;
        if (done) return controller.close();
        size += value.byteLength;
        if (maxBytes !== undefined && size > maxBytes) {
          failure = tooLarge(maxBytes);
          controller.error(failure);
          await reader.cancel(failure).catch(() => {});
          return;
        }
        hasher.update(value);
        controller.enqueue(value);
      },
      async cancel(reason) {
        await reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );

  try {
    await store.put(tmpKey, hashed, TRANSIENT);
  } catch (err) {
    // put promises to leave nothing behind; deleting again costs little and covers a backend that slips.
    await store.delete(tmpKey).catch(() => {});
    throw failure ?? err;
  } finally {
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
  if (failure !== undefined) {
    await store.delete(tmpKey).catch(() => {});
    throw failure;
  }
  return { tmpKey, sha256: hasher.digest('hex'), size };
}

/**
 * Step two: makes the staged blob addressable at blobKeyFor(sha256) and returns that key. The staged
 * copy is moved onto the address even when the same content is already there: the move renews the
 * blob's modification time, so the blob collector (which spares blobs younger than its grace period)
 * cannot take an old unreferenced copy of these bytes while the caller is about to commit its row.
 * A move that fails removes the staged blob.
 */
export async function commitBlob(store: BlobStore, staged: StagedBlob): Promise<string> {
  const key = blobKeyFor(staged.sha256);
  try {
    await store.move(staged.tmpKey, key);
  } catch (err) {
    // Nothing will commit it now: not left for the sweep to find hours later.
    await store.delete(staged.tmpKey).catch(() => {});
    throw err;
  }
  return key;
}

/** Drops a staged blob that failed validation (or whose request went away). */
export async function discardStaged(store: BlobStore, staged: StagedBlob): Promise<void> {
  await store.delete(staged.tmpKey);
}

/** Stage and commit in one go, for callers that have nothing to validate between the two. */
export async function putContentAddressed(
  store: BlobStore,
  body: ReadableStream<Uint8Array> | Uint8Array | string,
  options: StageOptions = {},
): Promise<StagedBlob & { key: string }> {
  const staged = await stageBlob(store, body, options);
  return { ...staged, key: await commitBlob(store, staged) };
}

/** Far longer than any stage-check-commit takes (a 500 MiB zip from a slow client), so a sweep never takes a live one. */
export const STAGED_MAX_AGE_MS = 6 * 60 * 60 * 1000;

/**
 * Removes staged blobs left by a process that died between staging and commit (or discard), and the
 * backend's own half-written bodies (`sweepPartial`), once older than maxAgeMs. Safe while other
 * processes stage: their blobs are younger. Returns how many were removed.
 */
export async function sweepStaged(store: BlobStore, maxAgeMs = STAGED_MAX_AGE_MS, now = Date.now()): Promise<number> {
  let removed = 0;
  for await (const key of store.list(STAGED_PREFIX)) {
    const born = Number(/^tmp\/(\d+)-/.exec(key)?.[1]);
    if (!Number.isSafeInteger(born) || now - born < maxAgeMs) continue;
    await store.delete(key);
    removed++;
  }
  return removed + ((await store.sweepPartial?.(maxAgeMs, now)) ?? 0);
}
