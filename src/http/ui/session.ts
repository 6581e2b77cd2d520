import { asPrincipal } from '../../auth/auth-service';
import type { Principal } from '../../auth/principal';
import { clearSessionCookie, type Session, safeEqual, sessionCookie, sessionSecretFromCookie } from '../../auth/sessions';
import type { AppContext } from '../../context';

/** The services these routes use, and no more. */
export type UiSessionDeps = Pick<AppContext, 'sessions' | 'settings' | 'users'>;

/** Everything a page needs to know about the request it answers. */
export interface UiEnv {
  /** The plugin's mount prefix ('' or '/something'): every link and form action starts with it. */
  prefix: string;
  /** Origin (or the configured public URL) plus prefix: what GOPROXY snippets show. */
  baseUrl: string;
  principal: Principal;
  /** The signed-in person's session, or null. */
  session: Session | null;
  /** The session's CSRF token: every form carries it, every POST is checked against it. */
  csrf: string;
  /** A one-shot notice set by the previous POST (redirect-after-POST). */
  flash: string | null;
  clientAddress: string;
  /** The viewer is an administrator and `admin` still has the default password: every page says so. */
  warnDefaultPassword: boolean;
}

export type SignedInEnv = UiEnv & { session: Session; principal: Extract<Principal, { kind: 'user' }> };

const FLASH_COOKIE = 'orbit_flash';
export const LOGIN_CSRF_COOKIE = 'orbit_login_csrf';

export function readCookie(header: string | null, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

export interface CookieOpts {
  path: string;
  secure: boolean;
}

/** Our own short-lived cookies get the same flags as the session cookie: HttpOnly, SameSite=Strict, Secure under TLS. */
function cookie(name: string, value: string, opts: CookieOpts, maxAgeSeconds: number): string {
  const parts = [`${name}=${value}`, `Path=${opts.path}`, 'HttpOnly', 'SameSite=Strict', `Max-Age=${maxAgeSeconds}`];
  if (opts.secure) parts.push('Secure');
  return parts.join('; ');
}

export const cookies = {
  session: (secret: string, o: CookieOpts) => sessionCookie(secret, o),
  clearSession: (o: CookieOpts) => clearSessionCookie(o),
  flash: (message: string, o: CookieOpts) => cookie(FLASH_COOKIE, encodeURIComponent(message.slice(0, 500)), o, 60),
  clearFlash: (o: CookieOpts) => cookie(FLASH_COOKIE, '', o, 0),
  loginCsrf: (token: string, o: CookieOpts) => cookie(LOGIN_CSRF_COOKIE, token, o, 3600),
  clearLoginCsrf: (o: CookieOpts) => cookie(LOGIN_CSRF_COOKIE, '', o, 0),
};

export function cookieOpts(ctx: UiSessionDeps, prefix: string): CookieOpts {
  return { path: prefix || '/', secure: !!ctx.settings.secureCookies };
}

export function randomToken(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString('base64url');
}

/** Double-submit check for the sign-in form, which has no session to hold a token yet (login CSRF). */
export function loginCsrfMatches(request: Request, presented: string | null): boolean {
  const expected = readCookie(request.headers.get('cookie'), LOGIN_CSRF_COOKIE);
  return !!expected && !!presented && safeEqual(expected, presented);
}

function baseUrlOf(ctx: UiSessionDeps, request: Request, prefix: string): string {
  const origin = ctx.settings.publicUrl?.replace(/\/+$/, '') || new URL(request.url).origin;
  return origin + prefix;
}

/**
 * Resolves the session from the cookie through the session service. An unknown, expired or disabled
 * session is simply "not signed in"; pages that need a person send them to the sign-in form.
 */
export async function resolveUi(ctx: UiSessionDeps, prefix: string, request: Request, clientAddress: string): Promise<UiEnv> {
  const cookieHeader = request.headers.get('cookie');
  const secret = sessionSecretFromCookie(cookieHeader);
  const session = secret ? await ctx.sessions.lookup(secret) : null;
  const live = session && !session.user.disabled ? session : null;
  let flash = readCookie(cookieHeader, FLASH_COOKIE);
  try {
    flash = flash ? decodeURIComponent(flash) : null;
  } catch {
    flash = null;
  }
  const principal: Principal = live ? asPrincipal(live.user, 'session', { sessionId: live.id }) : { kind: 'anonymous' };
  return {
    prefix,
    baseUrl: baseUrlOf(ctx, request, prefix),
    principal,
    session: live,
    csrf: live?.csrfToken ?? '',
    flash,
    clientAddress,
    warnDefaultPassword: principal.kind === 'user' && principal.isAdmin && ctx.users.adminHasDefaultPassword(),
  };
}

export function isSignedIn(ui: UiEnv): ui is SignedInEnv {
  return ui.session !== null && ui.principal.kind === 'user';
}
