import { and, asc, eq, ne } from 'drizzle-orm';
import type { Actor, AuditLog } from '../audit';
import type { Database } from '../db/open';
import { type UserRow, users } from '../db/schema';
import { BadRequest, Conflict, NotFound } from '../errors';
import type { Logger } from '../log';
import { hashPassword, MIN_PASSWORD_LENGTH } from './passwords';
import type { SessionService } from './sessions';

export { hashPassword, MIN_PASSWORD_LENGTH } from './passwords';

export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** Names the API uses as path words (`/users/me`), so no user may have them. */
const RESERVED_USERNAMES = new Set(['me']);
const MAX_PASSWORD_LENGTH = 1024;

export interface PublicUser {
  id: number;
  username: string;
  isAdmin: boolean;
  disabled: boolean;
  createdAt: string;
  updatedAt: string;
}

export function publicUser(u: UserRow): PublicUser {
  return {
    id: u.id,
    username: u.username,
    isAdmin: u.isAdmin,
    disabled: u.disabled,
    createdAt: u.createdAt.toISOString(),
    updatedAt: u.updatedAt.toISOString(),
  };
}

export function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH)
    throw new BadRequest(`password must be at least ${MIN_PASSWORD_LENGTH} characters`, { field: 'password' });
  // argon2 of a megabyte is a cheap way to burn our CPU.
  if (password.length > MAX_PASSWORD_LENGTH)
    throw new BadRequest(`password must be at most ${MAX_PASSWORD_LENGTH} characters`, { field: 'password' });
}

export interface UserPatch {
  password?: string;
  isAdmin?: boolean;
  disabled?: boolean;
}

/** Who changes a user, and how: the audit entry written with the change. */
export interface UserChange {
  actor: Actor;
  /** A session of the user that survives a new password (the one that changed it). */
  keepSessionId?: string;
  /** The user changing their own password with the current one: audited as `user.password`, not `user.update`. */
  ownPassword?: boolean;
}

export class UserService {
  /**
   * Whether the enabled administrator `admin` still has the password "admin". Known after
   * ensureBootstrapAdmin and re-checked only when `admin` changes: one argon2 run per change, none per page.
   */
  private adminDefaultPassword = false;

  constructor(
    private readonly db: Database,
    private readonly log: Logger,
    private readonly audit: AuditLog,
    private readonly sessions?: SessionService,
  ) {}

  /** Makes a user; the row and its `user.create` audit entry commit together. */
  async create(input: { username: string; password: string; isAdmin?: boolean }, actor: Actor): Promise<UserRow> {
    if (!USERNAME_PATTERN.test(input.username) || RESERVED_USERNAMES.has(input.username)) {
      throw new BadRequest(
        'username must be 1-64 of lowercase letters, digits, ".", "_", "-", starting with a letter or digit (and not "me")',
        { field: 'username' },
      );
    }
    checkPassword(input.password);
    const passwordHash = await hashPassword(input.password);
    return this.db.transaction(async (tx) => {
      const [row] = await tx
        .insert(users)
        .values({ username: input.username, passwordHash, isAdmin: input.isAdmin ?? false })
        .onConflictDoNothing()
        .returning();
      if (!row) throw new Conflict(`user "${input.username}" already exists`, { field: 'username' });
      await this.audit.recordIn(tx as unknown as Database, {
        actor: actor.username,
        action: 'user.create',
        target: row.username,
        details: { isAdmin: row.isAdmin },
        clientAddress: actor.clientAddress,
      });
      return row;
    });
  }

  async list(): Promise<UserRow[]> {
    return this.db.select().from(users).orderBy(asc(users.username));
  }

  async byName(username: string): Promise<UserRow | undefined> {
    const [row] = await this.db.select().from(users).where(eq(users.username, username)).limit(1);
    return row;
  }

  async byId(id: number): Promise<UserRow | undefined> {
    const [row] = await this.db.select().from(users).where(eq(users.id, id)).limit(1);
    return row;
  }

  async get(username: string): Promise<UserRow> {
    const row = await this.byName(username);
    if (!row) throw new NotFound(`user "${username}" does not exist`);
    return row;
  }

  /**
   * Changes password, admin flag or disabled. Taking away the last enabled administrator is refused (409):
   * nobody could manage the server afterwards. A new password or a disabled account ends the user's UI
   * sessions, except `change.keepSessionId` (the session that changed its own password). The change and
   * its audit entry commit together.
   */
  async update(username: string, patch: UserPatch, change: UserChange): Promise<UserRow> {
    if (patch.password !== undefined) checkPassword(patch.password);
    const passwordHash = patch.password !== undefined ? await hashPassword(patch.password) : undefined;
    const row = await this.db.transaction(async (tx) => {
      const target = await this.lockForAdminChange(tx as unknown as Database, username);
      const losesAdmin = target.isAdmin && !target.disabled && (patch.isAdmin === false || patch.disabled === true);
      if (losesAdmin) await this.refuseIfLastAdmin(tx as unknown as Database, target, patch.disabled === true ? 'disable' : 'demote');
      const [updated] = await tx
        .update(users)
        .set({
          ...(passwordHash !== undefined ? { passwordHash } : {}),
          ...(patch.isAdmin !== undefined ? { isAdmin: patch.isAdmin } : {}),
          ...(patch.disabled !== undefined ? { disabled: patch.disabled } : {}),
          updatedAt: new Date(),
        })
        .where(eq(users.id, target.id))
        .returning();
      const { actor } = change;
      if (change.ownPassword) {
        await this.audit.recordIn(tx as unknown as Database, {
          actor: actor.username,
          action: 'user.password',
          target: updated.username,
          clientAddress: actor.clientAddress,
        });
      } else {
        const details = { isAdmin: patch.isAdmin, disabled: patch.disabled, passwordChanged: patch.password !== undefined || undefined };
        await this.audit.recordIn(tx as unknown as Database, {
          actor: actor.username,
          action: 'user.update',
          target: updated.username,
          details: JSON.parse(JSON.stringify(details)),
          clientAddress: actor.clientAddress,
        });
      }
      return updated;
    });
    if (passwordHash !== undefined || patch.disabled === true) await this.sessions?.destroyUserSessions(row.id, change.keepSessionId);
    if (row.username === 'admin') await this.refreshDefaultPassword();
    return row;
  }

  async delete(username: string, actor: Actor): Promise<UserRow> {
    const row = await this.db.transaction(async (tx) => {
      const target = await this.lockForAdminChange(tx as unknown as Database, username);
      if (target.isAdmin && !target.disabled) await this.refuseIfLastAdmin(tx as unknown as Database, target, 'delete');
      // Tokens, grants and sessions go with the row (ON DELETE CASCADE).
      await tx.delete(users).where(eq(users.id, target.id));
      await this.audit.recordIn(tx as unknown as Database, {
        actor: actor.username,
        action: 'user.delete',
        target: target.username,
        clientAddress: actor.clientAddress,
      });
      return target;
    });
    if (row.username === 'admin') await this.refreshDefaultPassword();
    return row;
  }

  /** True while an enabled administrator named `admin` has the password "admin" (the UI warns administrators). */
  adminHasDefaultPassword(): boolean {
    return this.adminDefaultPassword;
  }

  /** Re-reads `admin` from the database (never a cache that may still hold the old row) and checks its password once. */
  async refreshDefaultPassword(): Promise<boolean> {
    const [row] = await this.db.select().from(users).where(eq(users.username, 'admin')).limit(1);
    this.adminDefaultPassword = !!row?.isAdmin && !row.disabled && (await Bun.password.verify('admin', row.passwordHash));
    return this.adminDefaultPassword;
  }

  /**
   * Locks every enabled administrator's row, then the target's, so two concurrent demotions cannot each
   * see the other admin and both succeed: the second waits, re-reads, and finds itself the last.
   */
  private async lockForAdminChange(tx: Database, username: string): Promise<UserRow> {
    await tx
      .select({ id: users.id })
      .from(users)
      .where(and(eq(users.isAdmin, true), eq(users.disabled, false)))
      .orderBy(asc(users.id))
      .for('update');
    const [target] = await tx.select().from(users).where(eq(users.username, username)).limit(1).for('update');
    if (!target) throw new NotFound(`user "${username}" does not exist`);
    return target;
  }

  private async refuseIfLastAdmin(tx: Database, target: UserRow, what: 'delete' | 'disable' | 'demote'): Promise<void> {
    const others = await tx
      .select({ id: users.id })
      .from(users)
      .where(and(eq(users.isAdmin, true), eq(users.disabled, false), ne(users.id, target.id)))
      .limit(1);
    if (others.length === 0) {
      throw new Conflict(
        `cannot ${what} "${target.username}": it is the last enabled administrator; make another user an administrator first`,
      );
    }
  }

  /**
   * Makes the bootstrap `admin` user when no administrator exists (first start). Once any administrator
   * exists it is never touched again, so deleting `admin` after making another administrator does not
   * bring it back with a default password on the next start.
   */
  async ensureBootstrapAdmin(password: string): Promise<void> {
    const [anyAdmin] = await this.db.select({ id: users.id }).from(users).where(eq(users.isAdmin, true)).limit(1);
    if (!anyAdmin) {
      const [made] = await this.db
        .insert(users)
        .values({ username: 'admin', passwordHash: await hashPassword(password), isAdmin: true })
        .onConflictDoNothing()
        .returning({ id: users.id });
      if (made) {
        this.log.info('created the bootstrap admin user', { username: 'admin' });
      } else {
        this.log.warn(
          'no administrator exists and the name "admin" is taken by a non-administrator: promote a user directly in the database',
        );
      }
    }
    if (await this.refreshDefaultPassword()) {
      this.log.warn(
        'the admin user still has the default password "admin": change it (PATCH /api/v1/users/admin) or set ORBITREPO_ADMIN_PASSWORD before first start',
      );
    }
  }
}
