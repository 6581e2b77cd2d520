import { createHash } from 'node:crypto';
import { and, desc, eq, isNull, lt, or } from 'drizzle-orm';
import type { Actor, AuditLog } from '../audit';
import type { Database } from '../db/open';
import { type ApiTokenRow, apiTokens, type UserRow, users } from '../db/schema';
import { BadRequest, NotFound } from '../errors';

export const TOKEN_PREFIX = 'orb_';
/** Characters of the secret shown in lists: the prefix plus a few, enough to tell tokens apart, far too few to guess from. */
const DISPLAY_LENGTH = TOKEN_PREFIX.length + 6;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** lastUsedAt is a hint for people, not an audit trail: written at most this often per token. */
const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * `orb_` + 32 random bytes in base62 (43 characters). Base62 rather than base64url so the secret needs no
 * quoting anywhere it goes: URL userinfo, .netrc, shell variables, YAML.
 */
export function generateTokenSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let n = BigInt(`0x${Buffer.from(bytes).toString('hex')}`);
  let out = '';
  while (out.length < 43) {
    out = BASE62[Number(n % 62n)] + out;
    n /= 62n;
  }
  return TOKEN_PREFIX + out;
}

export function looksLikeToken(secret: string): boolean {
  return secret.startsWith(TOKEN_PREFIX);
}

export function hashToken(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** What lists show of a token: never the secret nor its hash. */
export interface TokenView {
  id: number;
  username: string;
  name: string;
  displayPrefix: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export function tokenView(row: ApiTokenRow, username: string): TokenView {
  return {
    id: row.id,
    username,
    name: row.name,
    displayPrefix: row.displayPrefix,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt?.toISOString() ?? null,
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
  };
}

export class TokenService {
  /** tokenId -> when this process last wrote its lastUsedAt: spares the database a write per request. */
  private readonly lastTouched = new Map<number, number>();

  constructor(
    private readonly db: Database,
    private readonly audit: AuditLog,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Makes a token and returns its secret: the only time the secret exists outside the caller's hands.
   * The row and its `token.create` audit entry commit together.
   */
  async create(
    user: UserRow,
    input: { name: string; expiresAt?: string | Date | null },
    actor: Actor,
  ): Promise<{ token: TokenView; secret: string }> {
    const name = input.name.trim();
    if (!name || name.length > 100) throw new BadRequest('token name must be 1-100 characters', { field: 'name' });
    let expiresAt: Date | null = null;
    if (input.expiresAt) {
      expiresAt = new Date(input.expiresAt);
      if (Number.isNaN(expiresAt.getTime())) throw new BadRequest('expiresAt must be an ISO 8601 date-time', { field: 'expiresAt' });
      if (expiresAt.getTime() <= this.now()) throw new BadRequest('expiresAt must be in the future', { field: 'expiresAt' });
    }
    const secret = generateTokenSecret();
    const row = await this.db.transaction(async (tx) => {
      const [made] = await tx
        .insert(apiTokens)
        .values({ userId: user.id, name, tokenHash: hashToken(secret), displayPrefix: secret.slice(0, DISPLAY_LENGTH), expiresAt })
        .returning();
      await this.audit.recordIn(tx as unknown as Database, {
        actor: actor.username,
        action: 'token.create',
        target: `${user.username}/${made.id}`,
        details: { name: made.name, expiresAt: made.expiresAt?.toISOString() ?? null },
        clientAddress: actor.clientAddress,
      });
      return made;
    });
    return { token: tokenView(row, user.username), secret };
  }

  async list(user: UserRow): Promise<TokenView[]> {
    const rows = await this.db.select().from(apiTokens).where(eq(apiTokens.userId, user.id)).orderBy(desc(apiTokens.id));
    return rows.map((r) => tokenView(r, user.username));
  }

  /** The token with this id and its owner's name, or NotFound. */
  async get(id: number, db: Database = this.db): Promise<{ row: ApiTokenRow; username: string }> {
    const [found] = await db
      .select({ row: apiTokens, username: users.username })
      .from(apiTokens)
      .innerJoin(users, eq(users.id, apiTokens.userId))
      .where(eq(apiTokens.id, id))
      .limit(1);
    if (!found) throw new NotFound(`token ${id} does not exist`);
    return found;
  }

  /** Marks the token revoked (revoking twice keeps the first time); the change and its `token.revoke` audit entry commit together. */
  async revoke(id: number, actor: Actor): Promise<TokenView> {
    return this.db.transaction(async (tx) => {
      const t = tx as unknown as Database;
      const { username } = await this.get(id, t);
      await t
        .update(apiTokens)
        .set({ revokedAt: new Date(this.now()) })
        .where(and(eq(apiTokens.id, id), isNull(apiTokens.revokedAt)));
      const view = tokenView((await this.get(id, t)).row, username);
      await this.audit.recordIn(t, {
        actor: actor.username,
        action: 'token.revoke',
        target: `${username}/${id}`,
        details: { name: view.name },
        clientAddress: actor.clientAddress,
      });
      return view;
    });
  }

  /**
   * The token whose secret this is, with its owner, whatever its state (the caller decides what revoked,
   * expired or disabled mean). The comparison is the unique index lookup on the hash: the secret is never
   * compared byte by byte, so there is no timing to learn from.
   */
  async lookup(secret: string): Promise<{ token: ApiTokenRow; user: UserRow } | null> {
    const [found] = await this.db
      .select({ token: apiTokens, user: users })
      .from(apiTokens)
      .innerJoin(users, eq(users.id, apiTokens.userId))
      .where(eq(apiTokens.tokenHash, hashToken(secret)))
      .limit(1);
    return found ?? null;
  }

  /** What lookup() would find, when it is already in memory; undefined otherwise (here: never, nothing is kept). */
  known(_secret: string): { token: ApiTokenRow; user: UserRow } | undefined {
    return undefined;
  }

  isUsable(token: ApiTokenRow): 'ok' | 'revoked' | 'expired' {
    if (token.revokedAt) return 'revoked';
    if (token.expiresAt && token.expiresAt.getTime() <= this.now()) return 'expired';
    return 'ok';
  }

  /**
   * Records use at most once a minute per token. The in-memory map spares the query in this process; the
   * WHERE clause spares the write when another process has just done it. Undefined when nothing is written
   * (nearly every call: no promise made for it).
   */
  touch(token: ApiTokenRow): Promise<void> | undefined {
    const now = this.now();
    const last = Math.max(this.lastTouched.get(token.id) ?? 0, token.lastUsedAt?.getTime() ?? 0);
    if (now - last < LAST_USED_RESOLUTION_MS) return undefined;
    this.lastTouched.set(token.id, now);
    if (this.lastTouched.size > 10_000) this.lastTouched.delete(this.lastTouched.keys().next().value as number);
    return this.writeLastUsed(token, now);
  }

  private async writeLastUsed(token: ApiTokenRow, now: number): Promise<void> {
    await this.db
      .update(apiTokens)
      .set({ lastUsedAt: new Date(now) })
      .where(
        and(
          eq(apiTokens.id, token.id),
          or(isNull(apiTokens.lastUsedAt), lt(apiTokens.lastUsedAt, new Date(now - LAST_USED_RESOLUTION_MS))),
        ),
      );
  }
}
