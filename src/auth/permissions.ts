import { and, eq } from 'drizzle-orm';
import type { Database } from '../db/open';
import { repositoryPermissions, type RepositoryRow, type Role } from '../db/schema';
import { Forbidden, Unauthorized } from '../errors';
import type { Access, Principal } from './principal';

const RANK: Record<Access, number> = { read: 1, write: 2, admin: 3 };

export class PermissionService {
  constructor(private readonly db: Database) {}

  async roleOf(principal: Principal, repo: RepositoryRow): Promise<Role | null> {
    if (principal.kind !== 'user') return null;
    if (principal.isAdmin) return 'admin';
    const [row] = await this.db
      .select({ role: repositoryPermissions.role })
      .from(repositoryPermissions)
      .where(and(eq(repositoryPermissions.repositoryId, repo.id), eq(repositoryPermissions.userId, principal.userId)))
      .limit(1);
    return row?.role ?? null;
  }

  /** Throws Unauthorized for an anonymous caller and Forbidden for a known one. Never NotFound. */
  async authorize(principal: Principal, repo: RepositoryRow, access: Access): Promise<void> {
    if (access === 'read' && repo.anonymousRead) return;
    if (principal.kind !== 'user') throw new Unauthorized(`repository "${repo.name}" needs credentials`);
    const role = await this.roleOf(principal, repo);
    if (!role || RANK[role] < RANK[access]) {
      throw new Forbidden(`user "${principal.username}" may not ${access === 'read' ? 'read' : access === 'write' ? 'write to' : 'administer'} repository "${repo.name}"`);
    }
  }

  requireAdmin(principal: Principal): void {
    if (principal.kind !== 'user') throw new Unauthorized('this needs an administrator');
    if (!principal.isAdmin) throw new Forbidden(`user "${principal.username}" is not an administrator`);
  }

  requireUser(principal: Principal): asserts principal is Extract<Principal, { kind: 'user' }> {
    if (principal.kind !== 'user') throw new Unauthorized('this needs credentials');
  }
}
