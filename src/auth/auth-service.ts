import type { UserRow } from '../db/schema';
import { Unauthorized } from '../errors';
import { ANONYMOUS, type Principal, type RequestCredentials } from './principal';
import type { UserService } from './users';

/** Parses `Authorization: Basic …` into user and secret; null when absent or malformed. */
export function parseBasic(header: string | null): { username: string; secret: string } | null {
  if (!header) return null;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return null;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { username: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

/** Who is asking. Bad credentials are 401, never silently anonymous. */
export class AuthService {
  constructor(private readonly users: UserService) {}

  async authenticate(creds: RequestCredentials): Promise<Principal> {
    if (!creds.authorization) return ANONYMOUS;
    const basic = parseBasic(creds.authorization);
    if (!basic) throw new Unauthorized('unsupported or malformed Authorization header');
    const user = await this.users.byName(basic.username);
    if (!user || user.disabled || !(await Bun.password.verify(basic.secret, user.passwordHash))) {
      throw new Unauthorized('invalid credentials');
    }
    return asPrincipal(user, 'password');
  }
}

export function asPrincipal(user: UserRow, via: 'password' | 'token' | 'session', tokenId?: number): Principal {
  return { kind: 'user', userId: user.id, username: user.username, isAdmin: user.isAdmin, via, tokenId };
}
