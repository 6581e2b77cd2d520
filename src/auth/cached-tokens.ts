import type { Actor, AuditLog } from '../audit';
import type { Caching } from '../cache/caching';
import type { CacheRegion } from '../cache/lru';
import type { Database } from '../db/open';
import type { ApiTokenRow, UserRow } from '../db/schema';
import { hashToken, TokenService, type TokenView } from './tokens';

type Found = { token: ApiTokenRow; user: UserRow };

/**
 * TokenService with `lookup` (token hash -> token and owner) answered from memory. Only tokens that exist
 * are remembered: a flood of made-up tokens cannot push real ones out. Revoked, expired and disabled are
 * still decided per request by the caller, from the cached rows; revoking, and any change to the owner
 * (disable, delete), invalidates through the bus in every process.
 */
export class CachedTokenService extends TokenService {
  private readonly byHash: CacheRegion<Found>;
  private readonly caching: Caching;

  constructor(db: Database, audit: AuditLog, caching: Caching, now?: () => number) {
    super(db, audit, now);
    this.caching = caching;
    this.byHash = caching.cache.region<Found>('auth.tokens');
    caching.bus.subscribe('token', (id) => this.byHash.deleteWhere((v) => String(v.token.id) === id));
    caching.bus.subscribe('user', (username) => this.byHash.deleteWhere((v) => v.user.username === username));
  }

  /** Token -> its SHA-256, for the tokens presented again and again (bounded; starts over when full). */
  private readonly hashes = new Map<string, string>();

  private hashOf(secret: string): string {
    let hash = this.hashes.get(secret);
    if (hash === undefined) {
      hash = hashToken(secret);
      if (this.hashes.size >= 1024) this.hashes.clear();
      this.hashes.set(secret, hash);
    }
    return hash;
  }

  /** The cached lookup of a token presented before (a hit), without an await: the warm request's path. */
  override known(secret: string): Found | undefined {
    return this.byHash.peek(this.hashOf(secret));
  }

  override async lookup(secret: string): Promise<Found | null> {
    const found = await this.byHash.load(this.hashOf(secret), async () => (await super.lookup(secret)) ?? undefined);
    return found ?? null;
  }

  override async create(user: UserRow, input: { name: string; expiresAt?: string | Date | null }, actor: Actor) {
    const made = await super.create(user, input, actor);
    await this.caching.bus.publish('token', String(made.token.id));
    return made;
  }

  override async revoke(id: number, actor: Actor): Promise<TokenView> {
    const view = await super.revoke(id, actor);
    await this.caching.bus.publish('token', String(id));
    return view;
  }
}
