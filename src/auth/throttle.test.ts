import { describe, expect, test } from 'bun:test';
import { TooManyRequests } from '../errors';
import { addressKey, credentialOf, LoginThrottle, signInKey } from './throttle';

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

const K = signInKey('bob', '10.0.0.1');
let guess = 0;
/** A different wrong credential each time: a real guesser's pattern. */
const fresh = () => `guess-${guess++}`;

describe('LoginThrottle', () => {
  test('the first five failures cost nothing and the sixth attempt must wait a second', () => {
    const c = clock();
    const th = new LoginThrottle({ now: c.now });
    for (let i = 0; i < 4; i++) th.fail([K], fresh());
    expect(th.waitFor(K)).toBe(0);
    th.fail([K], fresh());
    expect(th.waitFor(K)).toBe(1_000);
    expect(() => th.check(K)).toThrow(TooManyRequests);
    c.t += 1_000;
    expect(() => th.check(K)).not.toThrow();
  });

  test('the wait doubles with each further failure and stops at the cap', () => {
    const c = clock();
    const th = new LoginThrottle({ now: c.now, maxDelayMs: 8_000 });
    for (let i = 0; i < 5; i++) th.fail([K], fresh());
    const waits = [];
    for (let i = 0; i < 6; i++) {
      waits.push(th.waitFor(K));
      th.fail([K], fresh());
    }
    expect(waits).toEqual([1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
  });

  test('a 429 carries Retry-After in whole seconds, never 0', () => {
    const c = clock();
    const th = new LoginThrottle({ now: c.now });
    for (let i = 0; i < 7; i++) th.fail([K], fresh());
    c.t += 1_500;
    try {
      th.check('other', K);
      throw new Error('expected a 429');
    } catch (err) {
      expect(err).toBeInstanceOf(TooManyRequests);
      expect((err as TooManyRequests).status).toBe(429);
      expect((err as TooManyRequests).headers['Retry-After']).toBe('3');
    }
    c.t += 2_499; // 1 ms left
    expect(th.waitFor(K)).toBe(1);
    expect(() => th.check(K)).toThrow(expect.objectContaining({ headers: { 'Retry-After': '1' } }));
  });

  // The real user must never be locked out for good: a quiet spell forgets everything.
  test('failures are forgotten after a quiet spell, and a success clears them at once', () => {
    const c = clock();
    const th = new LoginThrottle({ now: c.now, forgetAfterMs: 60_000 });
    for (let i = 0; i < 10; i++) th.fail([K], fresh());
    c.t += 60_001;
    expect(th.waitFor(K)).toBe(0);
    th.fail([K], fresh());
    expect(th.waitFor(K)).toBe(0);
    const j = signInKey('joe', '10.0.0.1');
    for (let i = 0; i < 10; i++) th.fail([j], fresh());
    th.succeed(j);
    expect(th.waitFor(j)).toBe(0);
  });

  test('the same wrong credential sent again counts once and does not lengthen the wait', () => {
    const c = clock();
    const th = new LoginThrottle({ now: c.now });
    const mistyped = credentialOf('bob', 'orb_mistyped');
    for (let i = 0; i < 12; i++) {
      expect(th.fail([K], mistyped)).toBe(i === 0);
      c.t += 100;
    }
    expect(th.failures(K)).toBe(1);
    expect(th.waitFor(K)).toBe(0);
    // Under another name it is another credential.
    expect(th.fail([K], credentialOf('alice', 'orb_mistyped'))).toBe(true);
    expect(th.failures(K)).toBe(2);
  });

  test('a repeat outside the window counts again', () => {
    const c = clock();
    const th = new LoginThrottle({ now: c.now, repeatWindowMs: 1_000 });
    th.fail([K], 'same');
    c.t += 1_001;
    th.fail([K], 'same');
    expect(th.failures(K)).toBe(2);
  });

  test('an address gets a larger budget over all names, so spraying one guess at many names is slowed', () => {
    const c = clock();
    const th = new LoginThrottle({ now: c.now, freeAddressFailures: 10 });
    const addr = addressKey('10.0.0.9');
    for (let i = 0; i < 10; i++) th.fail([signInKey(`user${i}`, '10.0.0.9'), addr], credentialOf(`user${i}`, 'Summer2026'));
    expect(th.waitFor(signInKey('user0', '10.0.0.9'))).toBe(0);
    expect(th.waitFor(addr)).toBe(1_000);
    expect(th.waitFor(addressKey('10.0.0.10'))).toBe(0);
  });

  test('keys are independent and the table never grows past its bound', () => {
    const th = new LoginThrottle({ maxKeys: 3 });
    for (let i = 0; i < 5; i++) th.fail(['a'], fresh());
    expect(th.waitFor('a')).toBeGreaterThan(0);
    expect(th.waitFor('b')).toBe(0);
    for (const k of ['b', 'c', 'd']) th.fail([k], fresh());
    // 'a' was the oldest and made room.
    expect(th.waitFor('a')).toBe(0);
  });

  test('what the throttle keeps never holds the secret itself, only a keyed hash of it', () => {
    const th = new LoginThrottle();
    th.fail([K], credentialOf('bob', 'orb_TheRealSecretValue'));
    const kept = (th as unknown as { entries: Map<string, { recent: Map<string, number> }> }).entries;
    const dump = JSON.stringify([...kept].map(([k, e]) => [k, [...e.recent.keys()]]));
    expect(dump).toContain('user:bob@10.0.0.1');
    expect(dump).not.toContain('TheRealSecretValue');
  });
});
