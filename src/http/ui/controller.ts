import { Elysia } from 'elysia';
import type { AppContext } from '../../context';
import { Forbidden, isServerFault, NotFound, toAppError, Unauthorized } from '../../errors';
import type { Actor } from '../../repos/repository';
import { readFormBody } from '../body';
import { actorOf, clientAddressOf, notePrincipal } from '../request';
import type { Html } from './html';
import { errorPage, url } from './layout';
import { htmlResponse, redirect } from './respond';
import { cookieOpts, cookies, isSignedIn, resolveUi, type SignedInEnv, type UiEnv } from './session';

/** The services these routes use, and no more. */
export type UiControllerDeps = Pick<AppContext, 'id' | 'log' | 'sessions' | 'settings' | 'users'>;

const SAFE = new Set(['GET', 'HEAD']);
export const CSRF_REFUSED = 'this form has expired or did not come from this site: reload the page and try again';

/** Throws Unauthorized (sent to the sign-in form) unless someone is signed in. */
export function signedIn(ui: UiEnv): SignedInEnv {
  if (!isSignedIn(ui)) throw new Unauthorized('sign in first');
  return ui;
}

export function actor(ui: SignedInEnv): Actor {
  return actorOf(ui.principal, ui.clientAddress);
}

/** Only paths under our own prefix: `next` must never send someone to another site after signing in. */
export function safeNext(ui: UiEnv, next: string | null | undefined): string {
  const home = url(ui, '/');
  if (!next?.startsWith(`${ui.prefix}/`) || next.startsWith('//') || /[\\\r\n]/.test(next)) return home;
  return next;
}

/**
 * The base of every UI controller except sign-in: the session resolved as `ui`, the form body parsed as
 * `form`, and — for every method but GET/HEAD — a signed-in session and its CSRF token required before
 * any handler runs, so no handler can forget the check. Errors become pages, or the sign-in form.
 */
export function uiController(ctx: UiControllerDeps, prefix: string, name: string, opts: { signInForm?: boolean } = {}) {
  return (
    new Elysia({ name: `orbitrepos.ui.${name}`, seed: ctx.id })
      // Before the session is looked at, but never past the form limit: a huge anonymous POST costs at most 1 MiB.
      .onParse(({ request }) => readFormBody(request))
      .resolve(async ({ request, server, body }) => {
        const ui = await resolveUi(ctx, prefix, request, clientAddressOf(request, server));
        notePrincipal(request, ui.principal);
        const form = body instanceof FormData ? body : new FormData();
        // The sign-in form has no session yet: it checks its own double-submit token instead.
        if (!SAFE.has(request.method) && !opts.signInForm) {
          signedIn(ui);
          const presented = form.get('_csrf') ?? request.headers.get('x-csrf-token');
          if (typeof presented !== 'string' || !ctx.sessions.verifyCsrf(ui.session!, presented)) throw new Forbidden(CSRF_REFUSED);
        }
        return { ui, form };
      })
      .onError(async (c) => {
        const { error, code, request } = c;
        const ui =
          (c as { ui?: UiEnv }).ui ?? (await resolveUi(ctx, prefix, request, clientAddressOf(request, c.server)).catch(() => null));
        const err = code === 'NOT_FOUND' ? new NotFound('no such page') : toAppError(error);
        if (isServerFault(err))
          ctx.log.error('ui request failed', { method: request.method, path: new URL(request.url).pathname, err: error as Error });
        if (!ui) return new Response(`${err.message}\n`, { status: err.status, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
        if (err.status === 401) {
          const here = new URL(request.url);
          const next = SAFE.has(request.method) ? here.pathname + here.search : '';
          return redirect(url(ui, `/login${next ? `?next=${encodeURIComponent(next)}` : ''}`), [
            cookies.clearSession(cookieOpts(ctx, prefix)),
          ]);
        }
        const page = htmlResponse(errorPage(ui, err.status, err.message), { status: err.status });
        // A 503 says when to try again, to the browser as to the go command.
        if (err.headers['Retry-After']) page.headers.set('Retry-After', err.headers['Retry-After']);
        return page;
      })
  );
}

/** A page, clearing the one-shot notice once it has been shown. */
export function page(ctx: UiControllerDeps, ui: UiEnv, body: Html, status = 200): Response {
  return htmlResponse(body, { status, setCookies: ui.flash ? [cookies.clearFlash(cookieOpts(ctx, ui.prefix))] : [] });
}

/** Redirect-after-POST with a notice for the next page. */
export function done(ctx: UiControllerDeps, ui: UiEnv, path: string, notice: string): Response {
  return redirect(url(ui, path), [cookies.flash(notice, cookieOpts(ctx, ui.prefix))]);
}
