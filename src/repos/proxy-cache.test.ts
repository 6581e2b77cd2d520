import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { openTestDatabase, type TestDatabase } from '../../test/support/db';
import { repositories } from '../db/schema';
import { BadUpstream, NotFound, UpstreamMissing, UpstreamTimeout } from '../errors';
import { silentLogger } from '../log';
import { FetchCoalescer } from './coalesce';
import { ProxyMetadataCache } from './proxy-cache';

const text = (s: string) => ({ bytes: new TextEncoder().encode(s), contentType: 'text/plain' });
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

describe('ProxyMetadataCache', () => {
  let t: TestDatabase;
  let cache: ProxyMetadataCache;
  let coalescer: FetchCoalescer;
  beforeAll(async () => {
    t = await openTestDatabase('pglite');
    const [row] = await t.handle.db.insert(repositories).values({ name: 'p', type: 'proxy', remoteUrl: 'http://127.0.0.1:9' }).returning();
    coalescer = new FetchCoalescer(t.handle, silentLogger);
    cache = new ProxyMetadataCache(t.handle.db, row.id, coalescer, silentLogger);
  });
  afterAll(async () => {
    await coalescer.close();
    await t.cleanup();
  });

  test('a fresh answer is served without asking the upstream again', async () => {
    let calls = 0;
    const fetchUp = async () => (calls++, text(`v${calls}`));
    const policy = { ttlSeconds: 60, negativeTtlSeconds: 10 };
    expect(decode((await cache.answer('list:a', policy, fetchUp)).body)).toBe('v1');
    expect(decode((await cache.answer('list:a', policy, fetchUp)).body)).toBe('v1');
    expect(calls).toBe(1);
  });

  test('with a TTL of 0 every request asks the upstream', async () => {
    let calls = 0;
    const fetchUp = async () => (calls++, text(`v${calls}`));
    const policy = { ttlSeconds: 0, negativeTtlSeconds: 0 };
    await cache.answer('list:b', policy, fetchUp);
    expect(decode((await cache.answer('list:b', policy, fetchUp)).body)).toBe('v2');
  });

  test.each([
    ['a 5xx', new BadUpstream('upstream answered 500')],
    ['a timeout', new UpstreamTimeout('upstream did not answer')],
  ])('an expired answer is served stale when the upstream fails with %s', async (_, failure) => {
    const key = `list:stale-${failure.status}`;
    await cache.answer(key, { ttlSeconds: 0, negativeTtlSeconds: 0 }, async () => text('good'));
    const got = await cache.answer(key, { ttlSeconds: 0, negativeTtlSeconds: 0 }, async () => {
      throw failure;
    });
    expect(got).toMatchObject({ stale: true });
    expect(decode(got.body)).toBe('good');
  });

  test('a slow refresh serves the last good answer after staleAfterMs, and its result lands in the cache later', async () => {
    const policy = { ttlSeconds: 0, negativeTtlSeconds: 0, staleAfterMs: 50 };
    await cache.answer('list:slow', policy, async () => text('old'));
    const started = Date.now();
    const got = await cache.answer('list:slow', policy, async () => {
      await Bun.sleep(300);
      return text('new');
    });
    expect(Date.now() - started).toBeLessThan(250);
    expect(decode(got.body)).toBe('old');
    expect(got.stale).toBe(true);
    await Bun.sleep(400);
    expect(decode((await cache.get('list:slow'))!.body)).toBe('new');
  });

  test('with nothing cached, an upstream failure is passed on', async () => {
    const err = await cache
      .answer('list:never', { ttlSeconds: 60, negativeTtlSeconds: 60 }, async () => {
        throw new BadUpstream('upstream answered 500');
      })
      .catch((e) => e);
    expect(err).toBeInstanceOf(BadUpstream);
  });

  test('a 404 is remembered for the negative TTL with the upstream message', async () => {
    let calls = 0;
    const fetchUp = async () => {
      calls++;
      throw new UpstreamMissing(404, 'upstream http://u/x/@v/list answered 404');
    };
    const policy = { ttlSeconds: 60, negativeTtlSeconds: 60 };
    for (let i = 0; i < 3; i++) {
      const err = await cache.answer('list:missing', policy, fetchUp).catch((e) => e);
      expect(err).toBeInstanceOf(NotFound);
      expect(err.message).toBe('upstream http://u/x/@v/list answered 404');
    }
    expect(calls).toBe(1);
  });
});
