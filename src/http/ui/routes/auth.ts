import { sessionSecretFromCookie } from '../../../auth/sessions';
import type { AppContext } from '../../../context';
import { toAppError } from '../../../errors';
import { safeNext, uiController } from '../controller';
import { str } from '../forms';
import { url } from '../layout';
import { loginPage } from '../pages/login';
import { htmlResponse, redirect } from '../respond';
import { cookieOpts, cookies, isSignedIn, LOGIN_CSRF_COOKIE, loginCsrfMatches, randomToken, readCookie, type UiEnv } from '../session';

/** The services these routes use, and no more. */
export type AuthUiDeps = Pick<AppContext, 'auth' | 'id' | 'log' | 'sessions' | 'settings' | 'users'>;

function basicHeader(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/** Sign in (GET/POST /login); sign out is in sessionRoutes, behind the session's CSRF check. */
export function loginRoutes(ctx: AuthUiDeps, prefix: string) {
  const opts = cookieOpts(ctx, prefix);

  const form = (request: Request, ui: UiEnv, next: string, status: number, username?: string, message?: string) => {
    // Reuse the token a second tab already holds, so signing in from either tab works.
    const token = readCookie(request.headers.get('cookie'), LOGIN_CSRF_COOKIE) || randomToken();
    const body = loginPage(ui, { loginCsrf: token, next, username, errors: message ? { _form: message } : {} });
    return htmlResponse(body, { status, setCookies: [cookies.loginCsrf(token, opts), ...(ui.flash ? [cookies.clearFlash(opts)] : [])] });
  };

  return uiController(ctx, prefix, 'login', { signInForm: true })
    .get('/login', ({ ui, request, query }) => {
      const next = safeNext(ui, query.next);
      if (isSignedIn(ui)) return redirect(next);
      return form(request, ui, next, 200);
    })
    .post('/login', async ({ ui, form: body, request }) => {
      const next = safeNext(ui, str(body, 'next'));
      const username = str(body, 'username').trim();
      if (!loginCsrfMatches(request, str(body, '_csrf'))) {
        return form(request, ui, next, 403, username, 'the sign-in form expired: try again');
      }
      try {
        const principal = await ctx.auth.authenticate({
          authorization: basicHeader(username, str(body, 'password')),
          cookie: null,
          clientAddress: ui.clientAddress,
          method: 'POST',
        });
        if (principal.kind !== 'user' || principal.via !== 'password') {
          return form(request, ui, next, 401, username, 'sign in with your password: API tokens are for the go command and scripts');
        }
        const session = await ctx.sessions.createSession(principal.userId);
        // A fresh session id on every sign-in: a session cookie planted before sign-in is worthless.
        const old = sessionSecretFromCookie(request.headers.get('cookie'));
        if (old) await ctx.sessions.destroySession(old);
        return redirect(next, [cookies.session(session.secret, opts), cookies.clearLoginCsrf(opts)]);
      } catch (err) {
        const e = toAppError(err);
        if (e.status === 401 || e.status === 429) {
          const res = form(request, ui, next, e.status, username, e.message);
          if (e.headers['Retry-After']) res.headers.set('Retry-After', e.headers['Retry-After']);
          return res;
        }
        throw err;
      }
    });
}

/** POST /logout: ends the session here and in the database. */
export function sessionRoutes(ctx: AuthUiDeps, prefix: string) {
  const opts = cookieOpts(ctx, prefix);
  return uiController(ctx, prefix, 'session').post('/logout', async ({ ui, request }) => {
    const secret = sessionSecretFromCookie(request.headers.get('cookie'));
    if (secret) await ctx.sessions.destroySession(secret);
    return redirect(url(ui, '/login'), [cookies.clearSession(opts), cookies.flash('You are signed out.', opts)]);
  });
}
