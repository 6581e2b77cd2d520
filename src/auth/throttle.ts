import { createHmac, randomBytes } from 'node:crypto';
import { TooManyRequests } from '../errors';

export interface ThrottleOptions {
  /** Failures allowed for one (user, address) before any waiting is asked for. */
  freeFailures?: number;
  /**
   * Failures allowed for one address over all user names before it must wait: bounds password spraying
   * (a few guesses at each of many names), which per-(user, address) counting alone would not slow.
   */
  freeAddressFailures?: number;
  /** Wait after the first failure past the free ones, ms; doubles with each further failure. */
  baseDelayMs?: number;
  /** The longest wait ever asked for, ms: a real user is slowed, never locked out for good. */
  maxDelayMs?: number;
  /** A key with no failure for this long is forgotten (the decay), ms. */
  forgetAfterMs?: number;
  /** How long a failed credential is remembered so that sending it again does not count again, ms. */
  repeatWindowMs?: number;
  /** Keys tracked at most; the oldest go first. */
  maxKeys?: number;
  now?: () => number;
}

interface Entry {
  failures: number;
  lastFailureAt: number;
  /** Fingerprints of the failed credentials counted lately -> when each was last sent. */
  recent: Map<string, number>;
}

/** Fingerprints kept per key: enough for one go command's burst, small enough that the table stays bounded. */
const MAX_RECENT = 8;

/**
 * Slows password and token guessing without letting anyone lock the owner out.
 *
 * Failures are counted per (user name, client address): guesses against bob from one address slow only
 * that address's attempts at bob, so bob signing in from his own address is never held up by an
 * attacker elsewhere. Each address also has a larger budget over all names, so spraying one guess at
 * many names is slowed too (that budget is not reset by a success: signing in to one's own account must
 * not clear it). Past the free failures every further attempt must wait, the wait doubling up to a cap;
 * a success clears the (user, address) count, and a quiet spell forgets everything.
 *
 * The same wrong credential sent again from the same address counts once: the go command asks for
 * several files and retries each refused request once, so one mistyped token in one `go get` would
 * otherwise look like a burst of guesses. Repeating a guess gains an attacker nothing, so this costs
 * nothing. Only a keyed hash of the credential is kept (HMAC under a key made at start and never
 * stored), never the secret itself.
 *
 * A waiting caller is answered 429 with Retry-After rather than held open, so an attacker cannot pile
 * up connections. State is per process, in memory: several server processes each allow their own few
 * failures, and a restart forgets. That is acceptable for slowing guesses against argon2id hashes; a
 * shared store would add a database write to every failed sign-in, which is what an attacker would want.
 */
export class LoginThrottle {
  private readonly freeFailures: number;
  private readonly freeAddressFailures: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly forgetAfterMs: number;
  private readonly repeatWindowMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;
  private readonly entries = new Map<string, Entry>();
  private readonly fingerprintKey = randomBytes(32);

  constructor(opts: ThrottleOptions = {}) {
    this.freeFailures = opts.freeFailures ?? 5;
    this.freeAddressFailures = opts.freeAddressFailures ?? 50;
    this.baseDelayMs = opts.baseDelayMs ?? 1_000;
    this.maxDelayMs = opts.maxDelayMs ?? 60_000;
    this.forgetAfterMs = opts.forgetAfterMs ?? 15 * 60_000;
    this.repeatWindowMs = opts.repeatWindowMs ?? 10 * 60_000;
    this.maxKeys = opts.maxKeys ?? 100_000;
    this.now = opts.now ?? Date.now;
  }

  /** Milliseconds the key must still wait before its next attempt is looked at; 0 when it may try now. */
  waitFor(key: string): number {
    const e = this.live(key);
    const free = isAddressKey(key) ? this.freeAddressFailures : this.freeFailures;
    if (!e || e.failures < free) return 0;
    const delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (e.failures - free));
    return Math.max(0, e.lastFailureAt + delay - this.now());
  }

  /** Failures counted for the key (repeats of one credential count once); 0 once forgotten. */
  failures(key: string): number {
    return this.live(key)?.failures ?? 0;
  }

  /** Throws 429, with Retry-After in whole seconds (at least 1), when any of the keys must still wait. */
  check(...keys: string[]): void {
    const wait = Math.max(0, ...keys.map((k) => this.waitFor(k)));
    if (wait > 0) {
      throw new TooManyRequests('too many failed sign-in attempts: wait and try again', Math.max(1, Math.ceil(wait / 1000)));
    }
  }

  /**
   * Counts a failed attempt with `credential` (what was presented: user name and secret) against every
   * key, except where that same credential already failed lately. Returns whether anything was counted.
   */
  fail(keys: string[], credential: string): boolean {
    const now = this.now();
    const fingerprint = createHmac('sha256', this.fingerprintKey).update(credential).digest('base64url').slice(0, 22);
    let counted = false;
    for (const key of keys) {
      const e = this.live(key) ?? { failures: 0, lastFailureAt: now, recent: new Map<string, number>() };
      const seen = e.recent.get(fingerprint);
      const repeat = seen !== undefined && now - seen <= this.repeatWindowMs;
      e.recent.delete(fingerprint);
      e.recent.set(fingerprint, now);
      if (e.recent.size > MAX_RECENT) e.recent.delete(e.recent.keys().next().value as string);
      if (!repeat) {
        e.failures += 1;
        // A repeat does not move the clock either: retrying a refused request must not lengthen the wait.
        e.lastFailureAt = now;
        counted = true;
      }
      this.entries.delete(key);
      this.entries.set(key, e);
    }
    while (this.entries.size > this.maxKeys) this.entries.delete(this.entries.keys().next().value as string);
    return counted;
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

const ADDRESS_PREFIX = 'addr:';
const isAddressKey = (key: string) => key.startsWith(ADDRESS_PREFIX);

/** Every failure from one client address, whatever the name: the spraying budget. */
export const addressKey = (address: string) => `${ADDRESS_PREFIX}${address}`;

/**
 * One user name tried from one client address. A bearer token carries no name: `null` stands for
 * "a token" (a name may not be empty, so it cannot collide with a user's key).
 */
export const signInKey = (username: string | null, address: string) => `user:${(username ?? '').toLowerCase()}@${address}`;

/** What a failure is remembered by (hashed by the throttle, never kept): the name and the secret together. */
export const credentialOf = (username: string | null, secret: string) => `${username ?? ''}\u0000${secret}`;
