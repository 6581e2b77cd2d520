import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { NotFound, PayloadTooLarge, RangeNotSatisfiable } from '../errors';
import type { BlobEntry, BlobStore } from './blob-store';
import { blobKeyFor, commitBlob, discardStaged, stageBlob, sweepStaged } from './content-addressed';

export interface ContractOptions {
  /** Keys written for the listing test; above 1000 it crosses an S3 page. Default 1100. */
  manyKeys?: number;
  /** Bytes in the large streamed put. Default 64 MiB. */
  largeBytes?: number;
  /**
   * Most the RSS may grow while that blob is written or read: a backend's fixed working set,
   * which must stay well under largeBytes for the test to show flat memory. Default largeBytes / 2.
   */
  memoryBudget?: number;
}

export interface StoreUnderTest {
  store: BlobStore;
  cleanup(): Promise<void>;
}

const MiB = 1024 * 1024;
/** For the tests that move hundreds of MiB or thousands of keys through a local fake server. */
const SLOW_TEST_MS = 60_000;
const enc = (s: string) => new TextEncoder().encode(s);
const text = async (s: ReadableStream<Uint8Array>) => new TextDecoder().decode(await Bun.readableStreamToBytes(s));

/** A body delivered in the given chunks, then ended (or errored with `fail`). Each chunk is a fresh array. */
export function chunked(chunks: Uint8Array[], fail?: Error): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      await Bun.sleep(0);
      if (i < chunks.length) return controller.enqueue(chunks[i++].slice());
      if (fail) controller.error(fail);
      else controller.close();
    },
  });
}

/**
 * `size` pseudo-random bytes in `chunk`-sized pieces, generated as they are pulled; hash() is valid
 * once drained. A full collection every 16 MiB makes RSS show what the store holds on to rather
 * than how far the garbage collector happens to lag behind this generator.
 */
export function generated(size: number, chunk = MiB): { stream: ReadableStream<Uint8Array>; hash(): string } {
  const block = crypto.getRandomValues(new Uint8Array(chunk));
  const hasher = new Bun.CryptoHasher('sha256');
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (sent >= size) return controller.close();
        if (sent % (16 * MiB) < chunk) Bun.gc(true);
        const piece = block.slice(0, Math.min(chunk, size - sent));
        new DataView(piece.buffer).setFloat64(0, sent); // no two chunks alike
        sent += piece.byteLength;
        hasher.update(piece);
        controller.enqueue(piece);
      },
    },
    { highWaterMark: 0 },
  );
  let digest: string | undefined;
  return { stream, hash: () => (digest ??= hasher.digest('hex')) };
}

/** Peak RSS growth while fn runs, sampled every few milliseconds. */
export async function rssGrowth<T>(fn: () => Promise<T>): Promise<{ result: T; growth: number }> {
  Bun.gc(true);
  const base = process.memoryUsage.rss();
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5);
  try {
    const result = await fn();
    return { result, growth: Math.max(peak, process.memoryUsage.rss()) - base };
  } finally {
    clearInterval(timer);
  }
}

async function sha256Of(stream: ReadableStream<Uint8Array>): Promise<{ hex: string; size: number }> {
  const hasher = new Bun.CryptoHasher('sha256');
  let size = 0;
  const reader = stream.getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    hasher.update(r.value);
    size += r.value.byteLength;
    if (size % (16 * MiB) < r.value.byteLength) Bun.gc(true);
  }
  return { hex: hasher.digest('hex'), size };
}

async function keys(store: BlobStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const key of store.list(prefix)) out.push(key);
  return out.sort();
}

/** One suite every BlobStore backend passes; each backend's test file is one call of this. */
export function runBlobStoreContract(name: string, makeStore: () => Promise<StoreUnderTest>, options: ContractOptions = {}): void {
  const manyKeys = options.manyKeys ?? 1100;
  const largeBytes = options.largeBytes ?? 64 * MiB;
  const memoryBudget = options.memoryBudget ?? largeBytes / 2;

  describe(`BlobStore contract: ${name}`, () => {
    let under: StoreUnderTest;
    let store: BlobStore;
    beforeEach(async () => {
      under = await makeStore();
      store = under.store;
    });
    afterEach(async () => {
      await under.cleanup();
    });

    test.each([
      ['bytes', () => enc('hello, bytes')],
      ['a string', () => 'hello, string'],
      ['a stream', () => chunked([enc('hello, '), enc('str'), enc('eam')])],
      ['an empty body', () => new Uint8Array(0)],
    ])('a blob put as %s reads back byte for byte', async (_, body) => {
      const expected = await new Response(body()).text();
      const stat = await store.put('round/trip', body());
      expect(stat.size).toBe(enc(expected).byteLength);
      expect(await text(await store.get('round/trip'))).toBe(expected);
      expect(await store.head('round/trip')).toMatchObject({ size: stat.size });
    });

    test.each([
      ['from a start to the end', { start: 4 }, '456789'],
      ['between two inclusive ends', { start: 2, end: 5 }, '2345'],
      ['of the last byte alone', { start: 9, end: 9 }, '9'],
      ['with an end past the blob, clamped', { start: 7, end: 100 }, '789'],
      ['from zero with no end', { start: 0 }, '0123456789'],
    ])('a range read %s returns just those bytes', async (_, range, expected) => {
      await store.put('ranged', '0123456789');
      expect(await text(await store.get('ranged', range))).toBe(expected);
    });

    test('a range starting past the end is refused as not satisfiable', async () => {
      await store.put('ranged', '0123456789');
      const err = await store.get('ranged', { start: 10 }).catch((e) => e);
      expect(err).toBeInstanceOf(RangeNotSatisfiable);
      expect(err.headers['Content-Range']).toBe('bytes */10');
    });

    test('a read of the whole of an empty blob by range yields no bytes', async () => {
      await store.put('empty', '');
      expect(await text(await store.get('empty', { start: 0 }))).toBe('');
    });

    // Optional (the zip checker reads ranges through it where it exists): a backend that has it must agree with get.
    test('readRange, where a backend has it, gives the bytes get gives, fewer at the end, and NotFound for a missing key', async () => {
      if (!store.readRange) return;
      await store.put('ranged', '0123456789');
      expect(new TextDecoder().decode(await store.readRange('ranged', 2, 4))).toBe('2345');
      expect(new TextDecoder().decode(await store.readRange('ranged', 7, 10))).toBe('789');
      await expect(store.readRange('no/such/key', 0, 1)).rejects.toBeInstanceOf(NotFound);
    });

    // Optional (the HTTP server sends such a blob itself, with sendfile): a backend that has it must agree with get.
    test('getBlob, where a backend has it, gives the bytes and size get gives, a slice of them, and null for a missing key', async () => {
      if (!store.getBlob) return;
      await store.put('as/file', '0123456789');
      const blob = store.getBlob('as/file')!;
      expect(blob.size).toBe(10);
      expect(await blob.text()).toBe('0123456789');
      expect(await blob.slice(2, 6).text()).toBe('2345');
      expect(store.getBlob('no/such/key')).toBeNull();
      // A key that names a directory of other keys is no blob either.
      expect(store.getBlob('as')).toBeNull();
      await store.delete('as/file');
      expect(store.getBlob('as/file')).toBeNull();
    });

    test('getting a missing key rejects with NotFound', async () => {
      await expect(store.get('no/such/key')).rejects.toBeInstanceOf(NotFound);
      await expect(store.get('no/such/key', { start: 1 })).rejects.toBeInstanceOf(NotFound);
    });

    test('head of a missing key is null, not an error', async () => {
      expect(await store.head('no/such/key')).toBeNull();
    });

    test('a put replaces the previous blob under the key', async () => {
      await store.put('over/write', 'first, longer body');
      await store.put('over/write', 'second');
      expect(await text(await store.get('over/write'))).toBe('second');
      expect(await store.head('over/write')).toMatchObject({ size: 6 });
    });

    // Sizes on both sides of the S3 part size: the large case fails after a part was uploaded.
    test.each([
      ['after a few small chunks', [enc('a'), enc('b'), enc('c')]],
      ['after more than one multipart part', Array.from({ length: 9 }, () => new Uint8Array(MiB).fill(7))],
    ])('a body that errors %s rejects the put and leaves nothing behind', async (_, chunks) => {
      await store.put('failed/kept', 'previous');
      const boom = new Error('body broke');
      await expect(store.put('failed/new', chunked(chunks, boom))).rejects.toThrow('body broke');
      await expect(store.put('failed/kept', chunked(chunks, boom))).rejects.toThrow('body broke');
      expect(await store.head('failed/new')).toBeNull();
      await expect(store.get('failed/new')).rejects.toBeInstanceOf(NotFound);
      expect(await text(await store.get('failed/kept'))).toBe('previous');
      expect(await keys(store, 'failed/')).toEqual(['failed/kept']);
    });

    test('move renames a blob, replacing any blob at the target', async () => {
      await store.put('move/from', 'moving');
      await store.put('move/to', 'old target');
      await store.move('move/from', 'move/to');
      expect(await store.head('move/from')).toBeNull();
      expect(await text(await store.get('move/to'))).toBe('moving');
      await store.move('move/to', 'elsewhere/deeper/still');
      expect(await text(await store.get('elsewhere/deeper/still'))).toBe('moving');
    });

    test('moving a missing key rejects with NotFound', async () => {
      await expect(store.move('move/none', 'move/to')).rejects.toBeInstanceOf(NotFound);
    });

    test('delete removes a blob and deleting again, or deleting what never was, is fine', async () => {
      await store.put('del/me', 'x');
      await store.delete('del/me');
      expect(await store.head('del/me')).toBeNull();
      await store.delete('del/me');
      await store.delete('never/was/here');
    });

    test('list yields exactly the keys that start with the prefix', async () => {
      for (const key of ['a/1', 'a/2', 'a/sub/3', 'ab/4', 'b/5']) await store.put(key, key);
      expect(await keys(store, 'a/')).toEqual(['a/1', 'a/2', 'a/sub/3']);
      expect(await keys(store, 'a')).toEqual(['a/1', 'a/2', 'a/sub/3', 'ab/4']);
      expect(await keys(store, 'a/s')).toEqual(['a/sub/3']);
      expect(await keys(store, '')).toEqual(['a/1', 'a/2', 'a/sub/3', 'ab/4', 'b/5']);
      expect(await keys(store, 'zzz/')).toEqual([]);
    });

    test(
      `list returns all of ${manyKeys} keys once each, across pages`,
      async () => {
        const expected = Array.from({ length: manyKeys }, (_, i) => `many/${String(i).padStart(5, '0')}`);
        for (let i = 0; i < expected.length; i += 50) {
          await Promise.all(expected.slice(i, i + 50).map((key) => store.put(key, 'x')));
        }
        expect(await keys(store, 'many/')).toEqual(expected);
      },
      SLOW_TEST_MS,
    );

    test('concurrent puts of one key end with one of the bodies, whole', async () => {
      const size = 64 * 1024;
      const bodies = Array.from({ length: 8 }, (_, i) => new Uint8Array(size).fill(i + 1));
      await Promise.all(bodies.map((b) => store.put('race', chunked([b.subarray(0, size / 2), b.subarray(size / 2)]))));
      const got = await Bun.readableStreamToBytes(await store.get('race'));
      expect(got.byteLength).toBe(size);
      expect(got.every((byte) => byte === got[0])).toBe(true);
    });

    test(
      `a ${largeBytes / MiB} MiB streamed put round-trips with flat memory`,
      async () => {
        const body = generated(largeBytes);
        const put = await rssGrowth(() => store.put('large', body.stream));
        expect(put.result.size).toBe(largeBytes);
        const read = await rssGrowth(async () => sha256Of(await store.get('large')));
        expect(read.result).toEqual({ hex: body.hash(), size: largeBytes });
        console.log(
          `${name}: ${largeBytes / MiB} MiB put grew RSS ${(put.growth / MiB).toFixed(1)} MiB, get ${(read.growth / MiB).toFixed(1)} MiB`,
        );
        expect(put.growth).toBeLessThan(memoryBudget);
        expect(read.growth).toBeLessThan(memoryBudget);
      },
      SLOW_TEST_MS,
    );

    test.each(['', '/abs', '../up', 'a/../b', 'a/./b', 'a//b', 'trailing/', 'back\\slash'])(
      'the key %p is refused as a programming error',
      async (key) => {
        await expect(store.put(key, 'x')).rejects.toThrow('invalid blob key');
        await expect(store.get(key)).rejects.toThrow('invalid blob key');
      },
    );

    test('check passes on a working backend', async () => {
      await store.check();
    });

    describe('modification times (what the blob collector relies on)', () => {
      // Clocks of a filesystem or an S3 server may round to the second: allow that much either way.
      const SLACK_MS = 2000;

      test('head and listEntries report size and a modification time close to the write', async () => {
        const before = Date.now();
        await store.put('timed/a', 'abc');
        await store.put('timed/b', 'defgh');
        await store.put('other/c', 'x');
        const head = await store.head('timed/a');
        expect(head?.size).toBe(3);
        expect(Math.abs(head!.modifiedAt.getTime() - before)).toBeLessThan(SLACK_MS + (Date.now() - before));
        const entries: BlobEntry[] = [];
        for await (const entry of store.listEntries('timed/')) entries.push(entry);
        entries.sort((x, y) => x.key.localeCompare(y.key));
        expect(entries.map((e) => [e.key, e.size])).toEqual([
          ['timed/a', 3],
          ['timed/b', 5],
        ]);
        for (const e of entries) expect(e.modifiedAt).toBeInstanceOf(Date);
      });

      // A writer that finds its content already stored must renew the blob, or a collector could take it before the row commits.
      test('committing content that is already stored renews the blob modification time', async () => {
        const key = await commitBlob(store, await stageBlob(store, 'renewed'));
        const first = (await store.head(key))!.modifiedAt.getTime();
        await Bun.sleep(SLACK_MS + 100);
        await commitBlob(store, await stageBlob(store, 'renewed'));
        expect((await store.head(key))!.modifiedAt.getTime()).toBeGreaterThan(first);
      }, 10_000);
    });

    describe('content-addressed staging', () => {
      test('stageBlob writes under tmp/ and reports the sha256 and size; commitBlob moves it to its address', async () => {
        const staged = await stageBlob(store, chunked([enc('zip '), enc('bytes')]));
        expect(staged.tmpKey).toStartWith('tmp/');
        expect(staged.size).toBe(9);
        expect(staged.sha256).toBe(new Bun.CryptoHasher('sha256').update('zip bytes').digest('hex'));
        expect(await text(await store.get(staged.tmpKey))).toBe('zip bytes');
        const key = await commitBlob(store, staged);
        expect(key).toBe(`blobs/sha256/${staged.sha256.slice(0, 2)}/${staged.sha256.slice(2)}`);
        expect(await text(await store.get(key))).toBe('zip bytes');
        expect(await keys(store, 'tmp/')).toEqual([]);
      });

      test('committing content that is already stored drops the staged copy and keeps one blob', async () => {
        const first = await commitBlob(store, await stageBlob(store, 'same'));
        const again = await stageBlob(store, chunked([enc('sa'), enc('me')]));
        expect(await commitBlob(store, again)).toBe(first);
        expect(await keys(store, '')).toEqual([first]);
      });

      test.each([
        ['a stream', () => chunked([new Uint8Array(600), new Uint8Array(600)])],
        ['bytes', () => new Uint8Array(1200)],
      ])('staging %s past maxBytes rejects with PayloadTooLarge and leaves no temporary blob', async (_, body) => {
        await expect(stageBlob(store, body(), { maxBytes: 1000 })).rejects.toBeInstanceOf(PayloadTooLarge);
        expect(await keys(store, 'tmp/')).toEqual([]);
      });

      test('a body of exactly maxBytes is accepted', async () => {
        const staged = await stageBlob(store, chunked([new Uint8Array(500), new Uint8Array(500)]), { maxBytes: 1000 });
        expect(staged.size).toBe(1000);
      });

      test('aborting the signal mid-body rejects with its reason and leaves no temporary blob', async () => {
        const controller = new AbortController();
        let pulls = 0;
        const body = new ReadableStream<Uint8Array>({
          async pull(c) {
            if (++pulls === 3) controller.abort(new Error('client went away'));
            await Bun.sleep(1);
            c.enqueue(new Uint8Array(100));
          },
        });
        await expect(stageBlob(store, body, { signal: controller.signal })).rejects.toThrow('client went away');
        expect(await keys(store, 'tmp/')).toEqual([]);
      });

      test('discardStaged removes the staged blob', async () => {
        const staged = await stageBlob(store, 'rejected by validation');
        await discardStaged(store, staged);
        expect(await store.head(staged.tmpKey)).toBeNull();
      });

      // A process killed between staging and commit leaves tmp/ behind; a later start removes it, but never a live stage.
      test('sweepStaged removes staged blobs older than the limit and keeps younger ones and committed blobs', async () => {
        const committed = await commitBlob(store, await stageBlob(store, 'kept content'));
        const old = await stageBlob(store, 'left by a crash');
        await Bun.sleep(5);
        const live = await stageBlob(store, 'still being checked');
        const bornOf = (key: string) => Number(/^tmp\/(\d+)-/.exec(key)![1]);
        // At old's 1000th millisecond with a limit of 1000 ms: old is due, live (staged later) is not.
        expect(await sweepStaged(store, 1000, bornOf(old.tmpKey) + 1000)).toBe(1);
        expect(await store.head(old.tmpKey)).toBeNull();
        expect(await store.head(live.tmpKey)).not.toBeNull();
        expect(await sweepStaged(store, 1000, bornOf(live.tmpKey) + 1000)).toBe(1);
        expect(await keys(store, 'tmp/')).toEqual([]);
        expect(await store.head(committed)).not.toBeNull();
      });

      test('blobKeyFor refuses anything but a lower-case hex sha256', () => {
        expect(() => blobKeyFor('ABC')).toThrow();
        expect(blobKeyFor('ab'.repeat(32))).toBe(`blobs/sha256/ab/${'ab'.repeat(31)}`);
      });
    });
  });
}
