import { createHash, timingSafeEqual } from 'node:crypto';
import { and, eq, gt, lt, ne } from 'drizzle-orm';
import type { Database } from '../db/open';
import { type UserRow, uiSessions, users } from '../db/schema';

export const SESSION_COOKIE = 'orbit_session';
const DEFAULT_TTL_MS = 12 * 60 * 60_000;

type SessionRow = typeof uiSessions.$inferSelect;

function randomSecret(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url');
}

/** The row id is the sha256 of the cookie's secret: a leaked database does not hand out live sessions. */
export function sessionIdOf(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** The session secret from a Cookie header, or null. */
export function sessionSecretFromCookie(cookieHeader: string | null): string | null {
  if (!cookieHeader) return null;
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === SESSION_COOKIE) {
      const value = part.slice(eq + 1).trim();
      return /^[A-Za-z0-9_-]{20,}$/.test(value) ? value : null;
    }
  }
  return null;
}

/**
 * Set-Cookie for a new session. HttpOnly keeps it from scripts; SameSite=Strict keeps other sites from
 * riding on it (the CSRF token is the second line of defence); Secure whenever the server speaks TLS.
 */
export function sessionCookie(secret: string, opts: { secure: boolean; maxAgeSeconds?: number; path?: string }): string {
  const parts = [
    `${SESSION_COOKIE}=${secret}`,
    `Path=${opts.path ?? '/'}`,
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${opts.maxAgeSeconds ?? DEFAULT_TTL_MS / 1000}`,
  ];
  if (opts.secure) parts.push('Secure');
  return parts.join('; ');
}

export function clearSessionCookie(opts: { secure: boolean; path?: string }): string {
  return sessionCookie('', { ...opts, maxAgeSeconds: 0 });
}

/** Constant-time string equality for secrets that are not looked up through an index. */
export function safeEqual(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  // Hashing first gives equal lengths, so the comparison time says nothing about either length.
  return timingSafeEqual(x, y) && a === b;
}

export interface Session {
  id: string;
  csrfToken: string;
  expiresAt: Date;
  user: UserRow;
}

/** Web UI sessions in ui_sessions. The UI builds its login form on createSession/lookup/destroySession. */
export class SessionService {
  constructor(
    private readonly db: Database,
    private readonly ttlMs = DEFAULT_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts a session; the secret goes into the cookie (sessionCookie) and is not kept here. */
  async createSession(userId: number): Promise<{ secret: string; csrfToken: string; expiresAt: Date }> {
    const secret = randomSecret();
    const csrfToken = randomSecret();
    const expiresAt = new Date(this.now() + this.ttlMs);
    await this.db.insert(uiSessions).values({ id: sessionIdOf(secret), userId, csrfToken, expiresAt });
    // Sign-in is rare enough to sweep expired rows here instead of in a timer.
    await this.db.delete(uiSessions).where(lt(uiSessions.expiresAt, new Date(this.now())));
    return { secret, csrfToken, expiresAt };
  }

  /** The live session for a cookie secret, with its user (disabled or not: the caller decides), or null. */
  async lookup(secret: string): Promise<Session | null> {
    const [found] = await this.db
      .select({ session: uiSessions, user: users })
      .from(uiSessions)
      .innerJoin(users, eq(users.id, uiSessions.userId))
      .where(and(eq(uiSessions.id, sessionIdOf(secret)), gt(uiSessions.expiresAt, new Date(this.now()))))
      .limit(1);
    return found ? toSession(found.session, found.user) : null;
  }

  async destroySession(secret: string): Promise<void> {
    await this.db.delete(uiSessions).where(eq(uiSessions.id, sessionIdOf(secret)));
  }

  /** Ends every session of a user, except the one given (the session that changed the password keeps going). */
  async destroyUserSessions(userId: number, exceptSessionId?: string): Promise<void> {
    const mine = eq(uiSessions.userId, userId);
    await this.db.delete(uiSessions).where(exceptSessionId ? and(mine, ne(uiSessions.id, exceptSessionId)) : mine);
  }

  verifyCsrf(session: { csrfToken: string }, presented: string | null | undefined): boolean {
    return !!presented && safeEqual(session.csrfToken, presented);
  }
}

function toSession(row: SessionRow, user: UserRow): Session {
  return { id: row.id, csrfToken: row.csrfToken, expiresAt: row.expiresAt, user };
}
