import type { AuditLog } from '../audit';
import type { Caching } from '../cache/caching';
import type { CacheRegion } from '../cache/lru';
import type { Database } from '../db/open';
import type { RepositoryRow } from '../db/schema';
import { NotFound } from '../errors';
import type { Actor } from './repository';
import { type RepositoryPatch, RepositoryService, type RepositoryView } from './repository-service';

/**
 * RepositoryService with repository rows (by name) and group members answered from memory: every GOPROXY
 * request opens its repository, and a group reads its members on every call. Unknown names are not
 * remembered (creating a repository then needs no invalidation). An edit or delete publishes the
 * repository's id: its row, the member lists that contain it and its own member list are dropped in
 * every process.
 */
export class CachedRepositoryService extends RepositoryService {
  private readonly rows: CacheRegion<RepositoryRow>;
  private readonly members: CacheRegion<RepositoryRow[]>;
  private readonly caching: Caching;

  constructor(db: Database, audit: AuditLog, caching: Caching) {
    super(db, audit);
    this.caching = caching;
    this.rows = caching.cache.region<RepositoryRow>('repos.rows');
    this.members = caching.cache.region<RepositoryRow[]>('repos.members');
    caching.bus.subscribe('repository', (id) => {
      this.rows.deleteWhere((row) => String(row.id) === id);
      this.members.deleteWhere((rows, groupId) => groupId === id || rows.some((r) => String(r.id) === id));
    });
  }

  override findRow(name: string): Promise<RepositoryRow | undefined> {
    return this.rows.load(name, () => super.findRow(name));
  }

  override async rowByName(name: string): Promise<RepositoryRow> {
    const row = await this.findRow(name);
    if (!row) throw new NotFound(`repository "${name}" does not exist`);
    return row;
  }

  override rowNow(name: string): RepositoryRow | undefined {
    return this.rows.peek(name);
  }

  override memberRowsNow(groupId: number): RepositoryRow[] | undefined {
    return this.members.peek(String(groupId));
  }

  override async memberRows(groupId: number): Promise<RepositoryRow[]> {
    return (await this.members.load(String(groupId), () => super.memberRows(groupId))) ?? [];
  }

  override async update(name: string, patch: RepositoryPatch, actor: Actor): Promise<RepositoryView> {
    // The id from the database itself: the cached row could be of a repository deleted elsewhere.
    const before = await super.findRow(name);
    try {
      await super.update(name, patch, actor);
    } finally {
      if (before) await this.caching.bus.publish('repository', String(before.id));
    }
    // Built again after the invalidation: the view super.update made may show the member list cached before it.
    return this.view(await this.rowByName(name));
  }

  override async delete(name: string, actor: Actor): Promise<void> {
    const before = await super.findRow(name);
    try {
      await super.delete(name, actor);
    } finally {
      if (before) await this.caching.bus.publish('repository', String(before.id));
    }
  }
}
