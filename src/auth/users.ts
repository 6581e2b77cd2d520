import { eq } from 'drizzle-orm';
import type { Database } from '../db/open';
import { users, type UserRow } from '../db/schema';
import { BadRequest, Conflict, NotFound } from '../errors';
import type { Logger } from '../log';

export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const MIN_PASSWORD_LENGTH = 5;

export interface PublicUser {
  id: number;
  username: string;
  isAdmin: boolean;
  disabled: boolean;
  createdAt: string;
}

export function publicUser(u: UserRow): PublicUser {
  return { id: u.id, username: u.username, isAdmin: u.isAdmin, disabled: u.disabled, createdAt: u.createdAt.toISOString() };
}

export function hashPassword(password: string): Promise<string> {
  return Bun.password.hash(password, { algorithm: 'argon2id' });
}

function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) throw new BadRequest(`password must be at least ${MIN_PASSWORD_LENGTH} characters`);
}

export class UserService {
  constructor(
    private readonly db: Database,
    private readonly log: Logger,
  ) {}

  async create(input: { username: string; password: string; isAdmin?: boolean }): Promise<UserRow> {
    if (!USERNAME_PATTERN.test(input.username)) {
      throw new BadRequest('username must be 1-64 of lowercase letters, digits, ".", "_", "-", starting with a letter or digit');
    }
    checkPassword(input.password);
    const passwordHash = await hashPassword(input.password);
    const [row] = await this.db
      .insert(users)
      .values({ username: input.username, passwordHash, isAdmin: input.isAdmin ?? false })
      .onConflictDoNothing()
      .returning();
    if (!row) throw new Conflict(`user "${input.username}" already exists`);
    return row;
  }

  async byName(username: string): Promise<UserRow | undefined> {
    const [row] = await this.db.select().from(users).where(eq(users.username, username)).limit(1);
    return row;
  }

  async get(username: string): Promise<UserRow> {
    const row = await this.byName(username);
    if (!row) throw new NotFound(`user "${username}" does not exist`);
    return row;
  }

  /** Makes the bootstrap `admin` user on first start; never touches it afterwards. */
  async ensureBootstrapAdmin(password: string, passwordIsDefault: boolean): Promise<void> {
    const existing = await this.byName('admin');
    if (!existing) {
      await this.db
        .insert(users)
        .values({ username: 'admin', passwordHash: await hashPassword(password), isAdmin: true })
        .onConflictDoNothing();
      this.log.info('created the bootstrap admin user', { username: 'admin' });
    }
    const row = existing ?? (await this.byName('admin'));
    if (row && !row.disabled && (await Bun.password.verify('admin', row.passwordHash))) {
      this.log.warn('the admin user still has the default password "admin": change it (PATCH /api/v1/users/admin) or set ORBITREPO_ADMIN_PASSWORD before first start');
    } else if (passwordIsDefault && !existing) {
      this.log.warn('the admin user was created with the default password');
    }
  }
}
