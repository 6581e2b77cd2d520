import { TooManyRequests } from '../errors';

export interface ThrottleOptions {
  /** Failures allowed before any waiting is asked for. */
  freeFailures?: number;
  /** Wait after the first failure past the free ones, ms; doubles with each further failure. */
  baseDelayMs?: number;
  /** The longest wait ever asked for, ms: a real user is slowed, never locked out for good. */
  maxDelayMs?: number;
  /** A key with no failure for this long is forgotten (the decay), ms. */
  forgetAfterMs?: number;
  /** Keys tracked at most; the oldest go first. */
  maxKeys?: number;
  now?: () => number;
}

interface Entry {
  failures: number;
  lastFailureAt: number;
}

/**
 * Slows password guessing: after a few failures for one key (a client address, or a username) every
 * further attempt must wait, the wait doubling up to a cap, and the count is forgotten after a quiet
 * spell. A waiting caller is answered 429 with Retry-After rather than held open, so an attacker cannot
 * pile up connections.
 *
 * State is per process, in memory: several server processes each allow their own few failures before
 * slowing, and a restart forgets. That is acceptable for slowing guesses against argon2id hashes; a
 * shared store would add a database write to every failed login, which is what an attacker would want.
 */
export class LoginThrottle {
  private readonly freeFailures: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly forgetAfterMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;
  private readonly entries = new Map<string, Entry>();

  constructor(opts: ThrottleOptions = {}) {
    this.freeFailures = opts.freeFailures ?? 5;
    this.baseDelayMs = opts.baseDelayMs ?? 1_000;
    this.maxDelayMs = opts.maxDelayMs ?? 60_000;
    this.forgetAfterMs = opts.forgetAfterMs ?? 15 * 60_000;
    this.maxKeys = opts.maxKeys ?? 100_000;
    this.now = opts.now ?? Date.now;
  }

  /** Milliseconds the key must still wait before its next attempt is looked at; 0 when it may try now. */
  waitFor(key: string): number {
    const e = this.live(key);
    if (!e || e.failures < this.freeFailures) return 0;
    const delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (e.failures - this.freeFailures));
    return Math.max(0, e.lastFailureAt + delay - this.now());
  }

  /** Throws 429 when any of the keys must still wait. */
  check(...keys: string[]): void {
    const wait = Math.max(0, ...keys.map((k) => this.waitFor(k)));
    if (wait > 0) {
      throw new TooManyRequests('too many failed sign-in attempts: wait and try again', Math.ceil(wait / 1000));
    }
  }

  fail(...keys: string[]): void {
    const now = this.now();
    for (const key of keys) {
      const e = this.live(key);
      this.entries.delete(key);
      this.entries.set(key, { failures: (e?.failures ?? 0) + 1, lastFailureAt: now });
    }
    while (this.entries.size > this.maxKeys) this.entries.delete(this.entries.keys().next().value as string);
  }

  succeed(...keys: string[]): void {
    for (const key of keys) this.entries.delete(key);
  }

  reset(): void {
    this.entries.clear();
  }

  private live(key: string): Entry | undefined {
    const e = this.entries.get(key);
    if (e && this.now() - e.lastFailureAt > this.forgetAfterMs) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }
}

export const addressKey = (address: string) => `addr:${address}`;
export const usernameKey = (username: string) => `user:${username.toLowerCase()}`;
