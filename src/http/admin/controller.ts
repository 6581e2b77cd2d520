import { Elysia } from 'elysia';
import type { AppContext } from '../../context';
import { apiErrorResponse, BadRequest, isServerFault, NotFound } from '../../errors';
import { actorOf, credentialsOf } from '../request';

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
  if (code === 'PARSE') return new BadRequest('the request body is not valid JSON');
  if (code === 'NOT_FOUND') return new NotFound('no such API route');
  return error;
}

/**
 * The base of every /api/v1 controller: JSON errors `{error, message}`, and the caller resolved as
 * `principal` (bad credentials are a 401 here, before any handler runs).
 */
export function apiController(ctx: ApiControllerDeps, name: string) {
  return new Elysia({ name: `orbitrepos.api.${name}`, prefix: '/api/v1', seed: ctx.id })
    .onError(({ code, error, request }) => {
      const err = asAppError(code, error);
      if (isServerFault(err))
        ctx.log.error('api request failed', { method: request.method, path: new URL(request.url).pathname, err: err as Error });
      return apiErrorResponse(err);
    })
    .resolve(async ({ request, server }) => {
      const creds = credentialsOf(request, server);
      const principal = await ctx.auth.authenticate(creds);
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
    { parse: 'none', detail: { hide: true } },
  );
}
