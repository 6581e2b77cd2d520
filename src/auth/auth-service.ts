import type { ApiTokenRow, UserRow } from '../db/schema';
import { Forbidden, Unauthorized } from '../errors';
import type { Logger } from '../log';
import { CachedPasswordVerifier, verifyAgainstDummy } from './passwords';
import { ANONYMOUS, type Principal, type RequestCredentials } from './principal';
import { type SessionService, sessionSecretFromCookie } from './sessions';
import { addressKey, credentialOf, LoginThrottle, signInKey } from './throttle';
import { looksLikeToken, type TokenService } from './tokens';
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

export function parseBearer(header: string | null): string | null {
  const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return m ? m[1] : null;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused.
const plausibleUsername = (name: string) => name.length <= 256 && !/[\u0000-\u001f\u007f]/.test(name);
const INVALID = 'invalid username or password';

export interface AuthServiceDeps {
  users: UserService;
  tokens: TokenService;
  sessions: SessionService;
  log: Logger;
  throttle?: LoginThrottle;
  passwords?: CachedPasswordVerifier;
}

/**
 * Who is asking. Accepts Basic user:password, Basic user:token (the form GOPROXY userinfo and .netrc
 * produce), Bearer token, and the UI session cookie. Credentials that are present but wrong are a 401,
 * never a silent fall back to anonymous: a typo in CI should fail loudly, not read only public modules.
 */
export class AuthService {
  readonly throttle: LoginThrottle;
  readonly passwords: CachedPasswordVerifier;
  private readonly users: UserService;
  private readonly tokens: TokenService;
  private readonly sessions: SessionService;
  private readonly log: Logger;

  constructor(deps: AuthServiceDeps) {
    this.users = deps.users;
    this.tokens = deps.tokens;
    this.sessions = deps.sessions;
    this.log = deps.log;
    this.throttle = deps.throttle ?? new LoginThrottle();
    this.passwords = deps.passwords ?? new CachedPasswordVerifier();
  }

  /**
   * Authorization headers that carry an API token, parsed: CI sends the same header on every request, and
   * base64 and the regular expressions cost more than the rest of a warm answer's authentication. Holds
   * only what parsing gives (no verdict: the token is looked up, and its revocation, expiry and owner
   * checked, on every request). Bounded; starts over when full.
   */
  private readonly tokenHeaders = new Map<string, { username: string | null; secret: string }>();

  /**
   * The principal when it is settled without a question: no credentials at all (anonymous), or an API token
   * this process has seen and still holds in memory when nothing about it needs a question or a failure (a
   * usable token of an enabled user, under its owner's name or none); undefined otherwise, and
   * authenticate() decides. Synchronous: CI sends the same token on every request, and the awaits of the
   * full path cost a warm answer more than the checks themselves.
   */
  authenticateKnown(creds: RequestCredentials): Principal | undefined {
    if (!creds.authorization) return sessionSecretFromCookie(creds.cookie) ? undefined : ANONYMOUS;
    const parsed = this.tokenHeaders.get(creds.authorization);
    if (!parsed) return undefined;
    const found = this.tokens.known(parsed.secret);
    if (!found) return undefined;
    const { token, user } = found;
    if ((parsed.username !== null && parsed.username !== user.username) || user.disabled || this.tokens.isUsable(token) !== 'ok') {
      return undefined;
    }
    this.touch(token);
    let principal = this.tokenPrincipals.get(found);
    if (!principal) {
      principal = asPrincipal(user, 'token', { tokenId: token.id });
      this.tokenPrincipals.set(found, principal);
    }
    return principal;
  }

  /** One principal per cached token lookup (a new lookup, after any change to the token or its owner, makes a new one). */
  private readonly tokenPrincipals = new WeakMap<object, Principal>();

  /** lastUsedAt is a hint for people: written at most once a minute, and never waited for. */
  private touch(token: ApiTokenRow): void {
    this.tokens.touch(token)?.catch((err) => this.log.warn('could not record when a token was last used', { err: err as Error }));
  }

  async authenticate(creds: RequestCredentials): Promise<Principal> {
    if (creds.authorization) {
      const known = this.tokenHeaders.get(creds.authorization);
      if (known) return this.tokenHeader(known, creds.clientAddress);
      const basic = parseBasic(creds.authorization);
      if (basic && looksLikeToken(basic.secret)) return this.tokenHeader(this.remember(creds.authorization, basic), creds.clientAddress);
      if (basic) return this.basic(basic.username, basic.secret, creds.clientAddress);
      const bearer = parseBearer(creds.authorization);
      if (bearer) return this.tokenHeader(this.remember(creds.authorization, { username: null, secret: bearer }), creds.clientAddress);
      throw new Unauthorized('unsupported or malformed Authorization header: use Basic or Bearer');
    }
    const sessionSecret = sessionSecretFromCookie(creds.cookie);
    if (sessionSecret) return this.session(sessionSecret, creds);
    return ANONYMOUS;
  }

  private remember(header: string, parsed: { username: string | null; secret: string }) {
    if (this.tokenHeaders.size >= 1024) this.tokenHeaders.clear();
    this.tokenHeaders.set(header, parsed);
    return parsed;
  }

  /** Bearer: the token or 401. Basic name:token: the token, else (an unknown secret that looks like one) a password. */
  private tokenHeader(parsed: { username: string | null; secret: string }, address: string): Promise<Principal> {
    return parsed.username === null ? this.token(parsed.secret, null, address) : this.basic(parsed.username, parsed.secret, address);
  }

  private async basic(username: string, secret: string, address: string): Promise<Principal> {
    if (looksLikeToken(secret)) {
      const viaToken = await this.token(secret, username, address, true);
      if (viaToken) return viaToken;
    }
    return this.password(username, secret, address);
  }

  private async password(username: string, password: string, address: string): Promise<Principal> {
    return asPrincipal(await this.login(username, password, address), 'password');
  }

  /**
   * Checks a username and password as every password sign-in does (throttled, cached, 401 on failure,
   * 401 for a disabled user) and returns the user. The UI's login form and the own-password change use it.
   */
  async login(username: string, password: string, address: string): Promise<UserRow> {
    // Per (name, address): an attacker elsewhere cannot slow the owner down. Per address: spraying is slowed.
    const keys = [signInKey(username, address), addressKey(address)];
    this.throttle.check(...keys);
    // A name no user can have (a control character, absurd length) is an unknown user without asking the
    // database, which would refuse a NUL byte with an error rather than an empty answer.
    const user = plausibleUsername(username) ? await this.users.byName(username) : null;
    const ok = user ? await this.passwords.verify(user.id, password, user.passwordHash) : await verifyAgainstDummy(password);
    if (!user || !ok) {
      this.throttle.fail(keys, credentialOf(username, password));
      // An unknown name is not logged: it is often a password typed into the wrong field.
      this.log.warn('sign-in failed', { username: user ? username : '(unknown user)', clientAddress: address, via: 'password' });
      throw new Unauthorized(INVALID);
    }
    // Only this name's count at this address: a success must not clear the address's spraying budget.
    this.throttle.succeed(keys[0]);
    // Checked after the password so that only someone who knows it learns the account is disabled.
    if (user.disabled) throw new Unauthorized(`user "${user.username}" is disabled`);
    return user;
  }

  /**
   * Tokens are 256 random bits: guessing one is hopeless, and a valid token proves nothing an attacker
   * could use. So a valid token is let through even from a throttled address (behind a reverse proxy
   * every client shares one address, and a flood of password guesses must not stop everyone's CI), while
   * a wrong one counts like a wrong password, against (name, address) and the address. With
   * `fallThrough`, an unknown secret that merely looks like a token returns null so it can be tried as a
   * password (which then counts it once, under the name it came with).
   */
  private async token(secret: string, username: string | null, address: string, fallThrough: true): Promise<Principal | null>;
  private async token(secret: string, username: string | null, address: string): Promise<Principal>;
  private async token(secret: string, username: string | null, address: string, fallThrough = false): Promise<Principal | null> {
    const keys = [signInKey(username, address), addressKey(address)];
    const found = looksLikeToken(secret) ? await this.tokens.lookup(secret) : null;
    if (!found) {
      if (fallThrough) return null;
      this.throttle.check(...keys);
      this.throttle.fail(keys, credentialOf(username, secret));
      this.log.warn('sign-in failed', { clientAddress: address, via: 'token' });
      throw new Unauthorized('invalid API token');
    }
    const { token, user } = found;
    if (username !== null && username !== user.username) {
      // A real token under the wrong name is a misconfiguration, or someone holding another's token.
      this.throttle.check(...keys);
      this.throttle.fail(keys, credentialOf(username, secret));
      this.log.warn('sign-in failed: token used with another username', { owner: user.username, clientAddress: address, via: 'token' });
      throw new Unauthorized(INVALID);
    }
    // Revoked and expired tokens are real secrets someone once held, not guesses: not counted as failures.
    const state = this.tokens.isUsable(token);
    if (state !== 'ok') throw new Unauthorized(`API token "${token.name}" is ${state}`);
    if (user.disabled) throw new Unauthorized(`user "${user.username}" is disabled`);
    this.touch(token);
    return asPrincipal(user, 'token', { tokenId: token.id });
  }

  /**
   * An unknown or expired session cookie is anonymous, not 401: browsers keep sending a stale cookie, and
   * public pages must keep working; the UI sends the person to sign in when it needs them.
   */
  private async session(secret: string, creds: RequestCredentials): Promise<Principal> {
    const session = await this.sessions.lookup(secret);
    if (!session || session.user.disabled) return ANONYMOUS;
    if (!SAFE_METHODS.has((creds.method ?? '').toUpperCase()) && !this.sessions.verifyCsrf(session, creds.csrfToken)) {
      throw new Forbidden('missing or wrong CSRF token (send the X-CSRF-Token header)');
    }
    return asPrincipal(session.user, 'session', { sessionId: session.id });
  }
}

export function asPrincipal(
  user: UserRow,
  via: 'password' | 'token' | 'session',
  extra: { tokenId?: number; sessionId?: string } = {},
): Principal {
  return { kind: 'user', userId: user.id, username: user.username, isAdmin: user.isAdmin, via, ...extra };
}
