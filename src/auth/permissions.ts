import { and, asc, eq } from 'drizzle-orm';
import type { Actor, AuditLog } from '../audit';
import type { Database } from '../db/open';
import { type RepositoryRow, type Role, repositoryPermissions, users } from '../db/schema';
import { BadRequest, Forbidden, NotFound, Unauthorized } from '../errors';
import type { Access, Principal } from './principal';

const RANK: Record<Access, number> = { read: 1, write: 2, admin: 3 };
export const ROLES: readonly Role[] = ['read', 'write', 'admin'];

export interface Grant {
  username: string;
  role: Role;
  createdAt: string;
}

const VERB: Record<Access, string> = { read: 'read', write: 'write to', admin: 'administer' };

/**
 * The one answer for a repository the caller may not see, whether or not it exists: anonymous -> 401
 * (credentials might help), a signed-in non-administrator -> 403. Administrators see every repository,
 * so only they are told 404.
 */
export function hiddenRepository(principal: Principal, name: string): Unauthorized | Forbidden {
  if (principal.kind !== 'user') return new Unauthorized(`repository "${name}" needs credentials`);
  return new Forbidden(`user "${principal.username}" may not read repository "${name}" (or it does not exist)`);
}

/**
 * Who may do what to a repository. Global administrators may do everything; everyone else needs a grant
 * (read < write < admin), except reading a repository with anonymousRead.
 */
export class PermissionService {
  constructor(
    private readonly db: Database,
    private readonly audit: AuditLog,
  ) {}

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

  /**
   * True when the caller may read the repository, known without a question (anonymous read, an
   * administrator, or, where grants are kept in memory, a kept grant); undefined when authorize() must decide.
   */
  mayReadNow(principal: Principal, repo: RepositoryRow): true | undefined {
    if (repo.anonymousRead || (principal.kind === 'user' && principal.isAdmin)) return true;
    return principal.kind === 'user' && this.knownRole(principal, repo) !== undefined ? true : undefined;
  }

  /** A role held in memory (never "none": that is authorize()'s to refuse); here nothing is kept. */
  protected knownRole(_principal: Principal, _repo: RepositoryRow): Role | undefined {
    return undefined;
  }

  /**
   * Throws Unauthorized for an anonymous caller and Forbidden for a known one. Never NotFound: the caller
   * has already found the repository, and a 404 here would tell the go command to try elsewhere instead
   * of asking for credentials. Someone who may not even read the repository gets exactly the answer a
   * missing repository gives them (hiddenRepository), whatever they asked to do, so that no answer tells
   * an outsider which names exist.
   */
  async authorize(principal: Principal, repo: RepositoryRow, access: Access): Promise<void> {
    if (access === 'read' && repo.anonymousRead) return;
    if (principal.kind !== 'user') throw hiddenRepository(principal, repo.name);
    const role = await this.roleOf(principal, repo);
    if (!role && !repo.anonymousRead) throw hiddenRepository(principal, repo.name);
    if (!role || RANK[role] < RANK[access]) {
      throw new Forbidden(`user "${principal.username}" may not ${VERB[access]} repository "${repo.name}"`);
    }
  }

  requireAdmin(principal: Principal): void {
    if (principal.kind !== 'user') throw new Unauthorized('this needs an administrator');
    if (!principal.isAdmin) throw new Forbidden(`user "${principal.username}" is not an administrator`);
  }

  requireUser(principal: Principal): asserts principal is Extract<Principal, { kind: 'user' }> {
    if (principal.kind !== 'user') throw new Unauthorized('this needs credentials');
  }

  async list(repo: RepositoryRow): Promise<Grant[]> {
    const rows = await this.db
      .select({ username: users.username, role: repositoryPermissions.role, createdAt: repositoryPermissions.createdAt })
      .from(repositoryPermissions)
      .innerJoin(users, eq(users.id, repositoryPermissions.userId))
      .where(eq(repositoryPermissions.repositoryId, repo.id))
      .orderBy(asc(users.username));
    return rows.map((r) => ({ username: r.username, role: r.role, createdAt: r.createdAt.toISOString() }));
  }

  /** Gives a user a role on a repository, replacing any role they had; the grant and its audit entry commit together. */
  async grant(repo: RepositoryRow, username: string, role: Role, actor: Actor): Promise<{ grant: Grant; previous: Role | null }> {
    if (!ROLES.includes(role)) throw new BadRequest(`role must be one of ${ROLES.join(', ')}`);
    return this.db.transaction(async (tx) => {
      const t = tx as unknown as Database;
      const user = await this.userByName(t, username);
      const [before] = await t
        .select({ role: repositoryPermissions.role })
        .from(repositoryPermissions)
        .where(and(eq(repositoryPermissions.repositoryId, repo.id), eq(repositoryPermissions.userId, user.id)))
        .for('update');
      const [row] = await t
        .insert(repositoryPermissions)
        .values({ repositoryId: repo.id, userId: user.id, role })
        .onConflictDoUpdate({ target: [repositoryPermissions.repositoryId, repositoryPermissions.userId], set: { role } })
        .returning();
      const previous = before?.role ?? null;
      await this.audit.recordIn(t, {
        actor: actor.username,
        action: 'permission.grant',
        repository: repo.name,
        target: username,
        details: { role: row.role, previous },
        clientAddress: actor.clientAddress,
      });
      return { grant: { username, role: row.role, createdAt: row.createdAt.toISOString() }, previous };
    });
  }

  /** Takes a user's grant away (NotFound when they had none); the removal and its audit entry commit together. */
  async revoke(repo: RepositoryRow, username: string, actor: Actor): Promise<Role> {
    return this.db.transaction(async (tx) => {
      const t = tx as unknown as Database;
      const user = await this.userByName(t, username);
      const [row] = await t
        .delete(repositoryPermissions)
        .where(and(eq(repositoryPermissions.repositoryId, repo.id), eq(repositoryPermissions.userId, user.id)))
        .returning();
      if (!row) throw new NotFound(`user "${username}" has no grant on repository "${repo.name}"`);
      await this.audit.recordIn(t, {
        actor: actor.username,
        action: 'permission.revoke',
        repository: repo.name,
        target: username,
        details: { role: row.role },
        clientAddress: actor.clientAddress,
      });
      return row.role;
    });
  }

  private async userByName(db: Database, username: string) {
    const [user] = await db.select({ id: users.id }).from(users).where(eq(users.username, username)).limit(1);
    if (!user) throw new NotFound(`user "${username}" does not exist`);
    return user;
  }
}
