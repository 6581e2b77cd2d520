import { afterEach, describe, expect, spyOn, test } from 'bun:test';
import { CachedPasswordVerifier, hashPassword } from './passwords';

describe('CachedPasswordVerifier', () => {
  const spies: { mockRestore(): void }[] = [];
  afterEach(() => {
    for (const s of spies.splice(0)) s.mockRestore();
  });

  function countVerifies() {
    const spy = spyOn(Bun.password, 'verify');
    spies.push(spy);
    return spy;
  }

  test('a successful verification is remembered, so the next request skips argon2', async () => {
    const hash = await hashPassword('s3cret-pw');
    const v = new CachedPasswordVerifier();
    const spy = countVerifies();
    expect(await v.verify(1, 's3cret-pw', hash)).toBe(true);
    expect(await v.verify(1, 's3cret-pw', hash)).toBe(true);
    expect(spy).toHaveBeenCalledTimes(1);
  });

  test('a wrong password is never remembered and always pays full price', async () => {
    const hash = await hashPassword('s3cret-pw');
    const v = new CachedPasswordVerifier();
    const spy = countVerifies();
    expect(await v.verify(1, 'wrong', hash)).toBe(false);
    expect(await v.verify(1, 'wrong', hash)).toBe(false);
    expect(spy).toHaveBeenCalledTimes(2);
  });

  test('a changed password hash misses the cache, so the old password stops working at once', async () => {
    const before = await hashPassword('old-password');
    const after = await hashPassword('new-password');
    const v = new CachedPasswordVerifier();
    expect(await v.verify(1, 'old-password', before)).toBe(true);
    expect(await v.verify(1, 'old-password', after)).toBe(false);
  });

  test('an entry expires after its time to live', async () => {
    const hash = await hashPassword('s3cret-pw');
    let now = 0;
    const v = new CachedPasswordVerifier({ ttlMs: 60_000, now: () => now });
    const spy = countVerifies();
    await v.verify(1, 's3cret-pw', hash);
    now = 59_999;
    await v.verify(1, 's3cret-pw', hash);
    now = 60_001;
    await v.verify(1, 's3cret-pw', hash);
    expect(spy).toHaveBeenCalledTimes(2);
  });

  // The go command opens many connections at once, all with the same credentials.
  test('concurrent verifications of the same password share one argon2 run', async () => {
    const hash = await hashPassword('s3cret-pw');
    const v = new CachedPasswordVerifier();
    const spy = countVerifies();
    const results = await Promise.all(Array.from({ length: 8 }, () => v.verify(1, 's3cret-pw', hash)));
    expect(results.every(Boolean)).toBe(true);
    expect(spy).toHaveBeenCalledTimes(1);
  });
});
