import { createHmac, randomBytes } from 'node:crypto';

export const MIN_PASSWORD_LENGTH = 5;

export function hashPassword(password: string): Promise<string> {
  return Bun.password.hash(password, { algorithm: 'argon2id' });
}

/** A hash of a password nobody has, verified against when the user does not exist so both paths take as long. */
let dummyHash: Promise<string> | undefined;
export function verifyAgainstDummy(password: string): Promise<boolean> {
  dummyHash ??= hashPassword(crypto.randomUUID());
  return dummyHash.then((h) => Bun.password.verify(password, h));
}

export interface PasswordCacheOptions {
  /** How long a successful verification is remembered, ms; 0: never (every request pays for argon2). */
  ttlMs?: number;
  /** Entries kept at most; the oldest go first. */
  maxEntries?: number;
  now?: () => number;
}

/**
 * argon2id takes tens of milliseconds on purpose, and the go command sends the password on every one of
 * its many requests. So a successful verification is remembered briefly, keyed by an HMAC of
 * user + password + stored hash under a random key made at start and never stored: the password itself
 * is never kept, a key seen in a heap dump cannot be tested against password guesses offline without the
 * HMAC key, and a password change (new hash, new salt) misses the cache at once. Only successes are
 * cached, so a wrong guess always pays full price; a disabled or deleted user is refused by the caller
 * from the user row (cached, but invalidated by the change). Concurrent verifications of the same triple
 * share one argon2 run.
 */
export class CachedPasswordVerifier {
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private readonly verified = new Map<string, number>();
  private readonly inFlight = new Map<string, Promise<boolean>>();
  private readonly secret = randomBytes(32);

  constructor(opts: PasswordCacheOptions = {}) {
    this.ttlMs = opts.ttlMs ?? 60_000;
    this.maxEntries = opts.maxEntries ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  async verify(userId: number, password: string, passwordHash: string): Promise<boolean> {
    const key = createHmac('sha256', this.secret).update(`${userId}\0${password}\0${passwordHash}`).digest('base64');
    const until = this.verified.get(key);
    if (until !== undefined) {
      if (until > this.now()) return true;
      this.verified.delete(key);
    }
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = Bun.password.verify(password, passwordHash).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    const ok = await pending;
    if (ok && this.ttlMs > 0) this.remember(key);
    return ok;
  }

  clear(): void {
    this.verified.clear();
  }

  private remember(key: string): void {
    this.verified.delete(key);
    this.verified.set(key, this.now() + this.ttlMs);
    // Map iteration is insertion order: the first key is the oldest.
    while (this.verified.size > this.maxEntries) this.verified.delete(this.verified.keys().next().value as string);
  }
}
