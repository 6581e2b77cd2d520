import { describe, expect, test } from 'bun:test';
import fc from 'fast-check';
import { checkProperty } from '../../test/support/property';
import { estimateBytes, LruCache } from './lru';

describe('LruCache', () => {
  test('a stored value is served until it is deleted', () => {
    const cache = new LruCache({ maxBytes: 1 << 20 });
    const r = cache.region<string>('r');
    r.set('a', 'alpha');
    expect(r.get('a')).toBe('alpha');
    r.delete('a');
    expect(r.get('a')).toBeUndefined();
  });

  test('sizes are readable per region and in total, and go back to zero when emptied', () => {
    const cache = new LruCache({ maxBytes: 1 << 20 });
    const a = cache.region<string>('a');
    const b = cache.region<number>('b');
    a.set('x', 'hello');
    a.set('y', 'world');
    b.set('z', 1);
    expect(a.entries).toBe(2);
    expect(b.entries).toBe(1);
    expect(cache.entries).toBe(3);
    expect(cache.bytes).toBe(a.bytes + b.bytes);
    expect(cache.stats().regions.map((s) => [s.name, s.entries])).toEqual([
      ['a', 2],
      ['b', 1],
    ]);
    a.clear();
    b.delete('z');
    expect(cache.entries).toBe(0);
    expect(cache.bytes).toBe(0);
  });

  test('the least recently used entry goes first when the byte budget is exceeded', () => {
    const cache = new LruCache({ maxBytes: 8_000 });
    const r = cache.region<Uint8Array>('r');
    for (const k of ['a', 'b', 'c', 'd']) r.set(k, new Uint8Array(800));
    r.get('a'); // a is now the most recently used; b the least
    for (const k of ['e', 'f', 'g', 'h', 'i', 'j']) r.set(k, new Uint8Array(800));
    expect(cache.bytes).toBeLessThanOrEqual(8_000);
    expect(r.has('a')).toBe(true);
    expect(r.has('b')).toBe(false);
    expect(r.has('j')).toBe(true);
  });

  test('a small cache read over and over keeps its order of use exactly: the entry not read goes first', () => {
    const cache = new LruCache({ maxBytes: 8_000 });
    const r = cache.region<Uint8Array>('r');
    const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    for (const k of keys) r.set(k, new Uint8Array(800)); // 962 bytes an entry: eight fit
    const read = keys.filter((k) => k !== 'b');
    for (let i = 0; i < 1000; i++) r.get(read[i % read.length]);
    r.set('i', new Uint8Array(800));
    expect(keys.filter((k) => !r.has(k))).toEqual(['b']);
    expect(r.has('i')).toBe(true);
  });

  test('for any sets and reads, what is kept is what an exact least-recently-used model keeps', () => {
    const MAX = 6_000;
    const op = fc.oneof(
      fc.record({ set: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'), size: fc.integer({ min: 0, max: 900 }) }),
      fc.record({ get: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h') }),
    );
    checkProperty(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const cache = new LruCache({ maxBytes: MAX });
        const r = cache.region<Uint8Array>('r');
        // The model: keys oldest first, with what each costs (value estimate, entry overhead, key).
        let model: { key: string; cost: number }[] = [];
        for (const o of ops) {
          if ('get' in o) {
            const at = model.findIndex((m) => m.key === o.get);
            expect(r.get(o.get) !== undefined).toBe(at >= 0);
            if (at >= 0) model.push(...model.splice(at, 1));
            continue;
          }
          r.set(o.set, new Uint8Array(o.size));
          model = model.filter((m) => m.key !== o.set);
          const cost = estimateBytes(new Uint8Array(o.size)) + 96 + o.set.length * 2;
          if (cost <= MAX / 8) model.push({ key: o.set, cost });
          while (model.reduce((n, m) => n + m.cost, 0) > MAX) model.shift();
          expect(cache.entries).toBe(model.length);
          expect(cache.bytes).toBe(model.reduce((n, m) => n + m.cost, 0));
        }
        for (const k of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']) expect(r.has(k)).toBe(model.some((m) => m.key === k));
      }),
    );
  });

  test('regions share one budget: filling one evicts the other', () => {
    const cache = new LruCache({ maxBytes: 10_000 });
    const small = cache.region<string>('small');
    const big = cache.region<Uint8Array>('big');
    small.set('s', 'x');
    for (let i = 0; i < 20; i++) big.set(String(i), new Uint8Array(1000));
    expect(small.has('s')).toBe(false);
    expect(cache.bytes).toBeLessThanOrEqual(10_000);
  });

  test('a value bigger than an eighth of the budget is not kept', () => {
    const cache = new LruCache({ maxBytes: 8_000 });
    const r = cache.region<Uint8Array>('r');
    expect(r.set('huge', new Uint8Array(2_000))).toBe(false);
    expect(r.get('huge')).toBeUndefined();
    expect(cache.bytes).toBe(0);
  });

  test('a budget of 0 caches nothing and every load calls its loader', async () => {
    const cache = new LruCache({ maxBytes: 0 });
    const r = cache.region<string>('r');
    let calls = 0;
    const loader = async () => `v${++calls}`;
    expect(await r.load('k', loader)).toBe('v1');
    expect(await r.load('k', loader)).toBe('v2');
  });

  test('nothing is stored while the cache is not active', () => {
    let active = false;
    const cache = new LruCache({ active: () => active });
    const r = cache.region<string>('r');
    r.set('k', 'v');
    expect(r.get('k')).toBeUndefined();
    active = true;
    r.set('k', 'v');
    expect(r.get('k')).toBe('v');
  });

  test('entries of a region with a ttl are not served after it', () => {
    let now = 1_000;
    const cache = new LruCache({ now: () => now });
    const r = cache.region<string>('r', { ttlMs: 100 });
    r.set('k', 'v');
    now += 99;
    expect(r.get('k')).toBe('v');
    now += 1;
    expect(r.get('k')).toBeUndefined();
    expect(cache.entries).toBe(0);
  });

  test('deleteWhere drops only the matching entries of its own region', () => {
    const cache = new LruCache();
    const a = cache.region<{ owner: string }>('a');
    const b = cache.region<{ owner: string }>('b');
    a.set('1', { owner: 'alice' });
    a.set('2', { owner: 'bob' });
    b.set('1', { owner: 'alice' });
    a.deleteWhere((v) => v.owner === 'alice');
    expect(a.has('1')).toBe(false);
    expect(a.has('2')).toBe(true);
    expect(b.has('1')).toBe(true);
  });

  test('peek counts a hit when the value is there and nothing when it is not, so the load after it counts the one miss', async () => {
    const r = new LruCache().region<number>('r');
    expect(r.peek('k')).toBeUndefined();
    expect(await r.load('k', async () => 7)).toBe(7);
    expect(r.stats()).toMatchObject({ hits: 0, misses: 1 });
    expect(r.peek('k')).toBe(7);
    expect(r.stats()).toMatchObject({ hits: 1, misses: 1 });
  });

  test('concurrent loads of one key share one loader call', async () => {
    const r = new LruCache().region<number>('r');
    let calls = 0;
    const loader = async () => {
      calls++;
      await Bun.sleep(5);
      return 42;
    };
    expect(await Promise.all([r.load('k', loader), r.load('k', loader), r.load('k', loader)])).toEqual([42, 42, 42]);
    expect(calls).toBe(1);
    expect(await r.load('k', loader)).toBe(42);
    expect(calls).toBe(1);
  });

  test('a load that began before an invalidation does not store the value it read', async () => {
    // The reload racing with a write could otherwise put the old row back for good.
    const r = new LruCache().region<string>('r');
    let release!: () => void;
    const gate = new Promise<void>((res) => (release = res));
    const stale = r.load('k', async () => {
      await gate;
      return 'old';
    });
    r.delete('k');
    release();
    expect(await stale).toBe('old');
    expect(r.get('k')).toBeUndefined();
    expect(await r.load('k', async () => 'new')).toBe('new');
    expect(r.get('k')).toBe('new');
  });

  test('a loader answering undefined is not remembered, and a failing loader is not either', async () => {
    const r = new LruCache().region<string | null>('r');
    expect(await r.load('k', async () => undefined)).toBeUndefined();
    expect(r.has('k')).toBe(false);
    await expect(r.load('k', async () => Promise.reject(new Error('db down')))).rejects.toThrow('db down');
    expect(r.has('k')).toBe(false);
    expect(await r.load('k', async () => null)).toBeNull();
    expect(r.has('k')).toBe(true);
  });
});

describe('estimateBytes', () => {
  test.each([
    ['a short string', 'abc', 22],
    ['a number', 1, 8],
    ['bytes', new Uint8Array(100), 164],
  ])('counts %s', (_, value, bytes) => {
    expect(estimateBytes(value)).toBe(bytes);
  });

  test('counts nested objects by their content', () => {
    expect(estimateBytes({ a: 'x'.repeat(1000) })).toBeGreaterThan(2000);
    expect(estimateBytes([{ a: 1 }, { a: 2 }])).toBeGreaterThan(estimateBytes([{ a: 1 }]));
  });
});
