import type { Actor, AuditLog } from '../audit';
import type { Caching } from '../cache/caching';
import type { CacheRegion } from '../cache/lru';
import type { Database } from '../db/open';
import type { RepositoryRow, Role } from '../db/schema';
import { type Grant, PermissionService } from './permissions';
import type { Principal } from './principal';

/**
 * PermissionService with `roleOf` (repository, user) answered from memory, "no grant" included: a private
 * repository is read with a token on every request. Keyed by repository id and username (names are
 * never reused while the row lives: deleting a user publishes its name and drops its grants here).
 */
export class CachedPermissionService extends PermissionService {
  private readonly roles: CacheRegion<Role | null>;
  private readonly caching: Caching;

  constructor(db: Database, audit: AuditLog, caching: Caching) {
    super(db, audit);
    this.caching = caching;
    this.roles = caching.cache.region<Role | null>('auth.grants');
    caching.bus.subscribe('grant', (key) => this.roles.delete(key));
    caching.bus.subscribe('user', (username) => this.roles.deleteWhere((_, key) => key.endsWith(`:${username}`)));
    caching.bus.subscribe('repository', (id) => this.roles.deleteWhere((_, key) => key.startsWith(`${id}:`)));
  }

  protected override knownRole(principal: Principal, repo: RepositoryRow): Role | undefined {
    if (principal.kind !== 'user') return undefined;
    return this.roles.peek(`${repo.id}:${principal.username}`) ?? undefined;
  }

  override async roleOf(principal: Principal, repo: RepositoryRow): Promise<Role | null> {
    if (principal.kind !== 'user' || principal.isAdmin) return super.roleOf(principal, repo);
    const role = await this.roles.load(`${repo.id}:${principal.username}`, async () => super.roleOf(principal, repo));
    return role ?? null;
  }

  override async grant(repo: RepositoryRow, username: string, role: Role, actor: Actor): Promise<{ grant: Grant; previous: Role | null }> {
    const result = await super.grant(repo, username, role, actor);
    await this.caching.bus.publish('grant', `${repo.id}:${username}`);
    return result;
  }

  override async revoke(repo: RepositoryRow, username: string, actor: Actor): Promise<Role> {
    const role = await super.revoke(repo, username, actor);
    await this.caching.bus.publish('grant', `${repo.id}:${username}`);
    return role;
  }
}
