import type { Actor, AuditLog } from '../audit';
import type { Caching } from '../cache/caching';
import type { CacheRegion } from '../cache/lru';
import type { Database } from '../db/open';
import type { UserRow } from '../db/schema';
import type { Logger } from '../log';
import type { SessionService } from './sessions';
import { type UserChange, type UserPatch, UserService } from './users';

/**
 * UserService with `byName` answered from memory: Basic password sign-in reads the user row on every
 * request of the go command. Only the row is cached, never the outcome of a password check (that is
 * CachedPasswordVerifier's, keyed by the stored hash, so a new password misses it at once). Every
 * change to a user (password, admin flag, disabled, delete) is published on the bus before it returns.
 */
export class CachedUserService extends UserService {
  private readonly byUsername: CacheRegion<UserRow>;
  private readonly caching: Caching;

  constructor(db: Database, log: Logger, audit: AuditLog, caching: Caching, sessions?: SessionService) {
    super(db, log, audit, sessions);
    this.caching = caching;
    this.byUsername = caching.cache.region<UserRow>('auth.users');
    caching.bus.subscribe('user', (username) => {
      this.byUsername.delete(username);
      // Another process may have changed `admin`: keep the default-password banner true here too.
      if (username === 'admin') this.refreshDefaultPassword().catch((err) => log.warn('could not re-check the admin password', { err }));
    });
  }

  /** Unknown names are not remembered: a made-up name costs a query (and an argon2 run), as before. */
  override byName(username: string): Promise<UserRow | undefined> {
    return this.byUsername.load(username, () => super.byName(username));
  }

  override async create(input: { username: string; password: string; isAdmin?: boolean }, actor: Actor): Promise<UserRow> {
    const row = await super.create(input, actor);
    await this.caching.bus.publish('user', row.username);
    return row;
  }

  override async update(username: string, patch: UserPatch, change: UserChange): Promise<UserRow> {
    try {
      return await super.update(username, patch, change);
    } finally {
      // Also after a failure: the row may have changed before ending the sessions failed.
      await this.caching.bus.publish('user', username);
    }
  }

  override async delete(username: string, actor: Actor): Promise<UserRow> {
    const row = await super.delete(username, actor);
    await this.caching.bus.publish('user', username);
    return row;
  }
}
