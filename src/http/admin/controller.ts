import { Elysia } from 'elysia';
import type { AppContext } from '../../context';
import { AppError, apiErrorResponse, BadRequest, isServerFault, NotFound } from '../../errors';
import { readJsonBody } from '../body';
import { actorOf, credentialsOf, notePrincipal } from '../request';

/** The services these routes use, and no more. */
export type ApiControllerDeps = Pick<AppContext, 'auth' | 'id' | 'log'>;

/** Turns Elysia's own errors (validation, parse, unknown route) into our one JSON error shape. */
function asAppError(code: string | number, error: unknown): unknown {
  if (code === 'VALIDATION') {
    const e = error as { all?: { path?: string; summary?: string; message?: string }[]; message?: string };
    const first = e.all?.[0];
    const where = first?.path ? `${first.path.replace(/^\//, '').replace(/\//g, '.')}: ` : '';
    return new BadRequest(`invalid request: ${where}${first?.summary ?? first?.message ?? 'does not match the schema'}`);
  }
  // Our own parser's refusals (415, 413, 400 with a reason) arrive wrapped in Elysia's ParseError.
  if (code === 'PARSE')
    return (error as Error).cause instanceof AppError ? (error as Error).cause : new BadRequest('the request body is not valid JSON');
  if (code === 'NOT_FOUND') return new NotFound('no such API route');
  return error;
}

/**
 * The challenge of an /api/v1 401. Never Basic: `WWW-Authenticate: Basic` is what makes a browser show
 * its password prompt, then cache those credentials and send them with every later request to this
 * origin, including requests another site makes it send (CSRF). Every real client of the API (curl -u,
 * scripts, Swagger UI) sends its credentials up front and never needs the challenge, and a browser
 * whose cached Basic credentials failed should not be asked again either; so the API names Bearer,
 * which no browser prompts for. `/go/` keeps its Basic challenge: a GOAUTH helper is shown the 401 it
 * answers, and the go command retries each 4xx once with the credentials GOAUTH gives it.
 */
export const API_CHALLENGE = 'Bearer realm="OrbitRepos"';

/**
 * The base of every /api/v1 controller: JSON errors `{error, message}`, writes take only
 * `application/json` bodies (415 otherwise) of at most 1 MiB, read before the caller is known but never
 * past that limit, and the caller resolved as `principal` (bad credentials are a 401 here, before any
 * handler runs).
 */
export function apiController(ctx: ApiControllerDeps, name: string) {
  return new Elysia({ name: `orbitrepos.api.${name}`, prefix: '/api/v1', seed: ctx.id })
    .onParse(({ request }) => readJsonBody(request))
    .onError(({ code, error, request }) => {
      const err = asAppError(code, error);
      if (isServerFault(err))
        ctx.log.error('api request failed', { method: request.method, path: new URL(request.url).pathname, err: err as Error });
      const res = apiErrorResponse(err);
      if (res.headers.has('www-authenticate')) res.headers.set('www-authenticate', API_CHALLENGE);
      return res;
    })
    .resolve(async ({ request, server }) => {
      const creds = credentialsOf(request, server);
      const principal = await ctx.auth.authenticate(creds);
      notePrincipal(request, principal);
      return { principal, actor: actorOf(principal, creds.clientAddress) };
    });
}

/** Security requirement shared by every admin route in the OpenAPI document. */
export const SECURED: Record<string, string[]>[] = [{ basic: [] }, { bearer: [] }];

/** Any other path under /api/v1 is a JSON 404, not the host app's plain one; mounted after every controller. */
export function apiNotFoundRoutes(ctx: ApiControllerDeps) {
  return apiController(ctx, 'not-found').all(
    '/*',
    ({ request }) => {
      throw new NotFound(`no API route ${request.method} ${new URL(request.url).pathname}; the routes are listed at /swagger`);
    },
    { detail: { hide: true } },
  );
}
