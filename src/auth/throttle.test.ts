import { describe, expect, test } from 'bun:test';
import { TooManyRequests } from '../errors';
import { LoginThrottle } from './throttle';

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

describe('LoginThrottle', () => {
  test('the first five failures cost nothing and the sixth attempt must wait a second', () => {
    const c = clock();
    const th = new LoginThrottle({ now: c.now });
    for (let i = 0; i < 4; i++) th.fail('k');
    expect(th.waitFor('k')).toBe(0);
    th.fail('k');
    expect(th.waitFor('k')).toBe(1_000);
    expect(() => th.check('k')).toThrow(TooManyRequests);
    c.t += 1_000;
    expect(() => th.check('k')).not.toThrow();
  });

  test('the wait doubles with each further failure and stops at the cap', () => {
    const c = clock();
    const th = new LoginThrottle({ now: c.now, maxDelayMs: 8_000 });
    for (let i = 0; i < 5; i++) th.fail('k');
    const waits = [];
    for (let i = 0; i < 6; i++) {
      waits.push(th.waitFor('k'));
      th.fail('k');
    }
    expect(waits).toEqual([1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
  });

  test('a 429 carries Retry-After in whole seconds', () => {
    const c = clock();
    const th = new LoginThrottle({ now: c.now });
    for (let i = 0; i < 7; i++) th.fail('k');
    c.t += 1_500;
    try {
      th.check('other', 'k');
      throw new Error('expected a 429');
    } catch (err) {
      expect(err).toBeInstanceOf(TooManyRequests);
      expect((err as TooManyRequests).status).toBe(429);
      expect((err as TooManyRequests).headers['Retry-After']).toBe('3');
    }
  });

  // The real user must never be locked out for good: a quiet spell forgets everything.
  test('failures are forgotten after a quiet spell, and a success clears them at once', () => {
    const c = clock();
    const th = new LoginThrottle({ now: c.now, forgetAfterMs: 60_000 });
    for (let i = 0; i < 10; i++) th.fail('k');
    c.t += 60_001;
    expect(th.waitFor('k')).toBe(0);
    th.fail('k');
    expect(th.waitFor('k')).toBe(0);
    for (let i = 0; i < 10; i++) th.fail('j');
    th.succeed('j');
    expect(th.waitFor('j')).toBe(0);
  });

  test('keys are independent and the table never grows past its bound', () => {
    const th = new LoginThrottle({ maxKeys: 3 });
    for (let i = 0; i < 5; i++) th.fail('a');
    expect(th.waitFor('a')).toBeGreaterThan(0);
    expect(th.waitFor('b')).toBe(0);
    for (const k of ['b', 'c', 'd']) th.fail(k);
    // 'a' was the oldest and made room.
    expect(th.waitFor('a')).toBe(0);
  });
});
