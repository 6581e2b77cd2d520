import { t } from 'elysia';
import type { AppContext } from '../../context';
import { BadRequest, Forbidden } from '../../errors';
import { apiController, SECURED } from './controller';
import { strictBody } from './strict-body';

/** The services these routes use, and no more. */
export type TokenRoutesDeps = Pick<AppContext, 'auth' | 'id' | 'log' | 'permissions' | 'tokens' | 'users'>;

export const TokenModel = t.Object({
  id: t.Integer(),
  username: t.String({ description: 'The owner' }),
  name: t.String(),
  displayPrefix: t.String({ description: 'The first characters of the secret, to tell tokens apart' }),
  createdAt: t.String({ format: 'date-time' }),
  expiresAt: t.Nullable(t.String({ format: 'date-time' })),
  lastUsedAt: t.Nullable(t.String({ format: 'date-time', description: 'Updated at most once a minute' })),
  revokedAt: t.Nullable(t.String({ format: 'date-time' })),
});

const CreatedToken = t.Composite([
  TokenModel,
  t.Object({ token: t.String({ description: 'The secret (orb_…). Shown this once: only its hash is stored.' }) }),
]);

const CreateToken = t.Object(
  {
    name: t.String({ maxLength: 100, description: 'What the token is for, e.g. "ci" (1-100 characters)' }),
    expiresAt: t.Optional(t.Nullable(t.String({ format: 'date-time', maxLength: 64, description: 'Empty: never expires' }))),
  },
  { additionalProperties: false },
);

const ErrorModel = t.Object({ error: t.String(), message: t.String() });
const detail = (summary: string, description?: string) => ({ tags: ['tokens'], summary, description, security: [...SECURED] });

/** /api/v1/tokens: your own API tokens; administrators see and revoke anyone's. */
export function tokenRoutes(ctx: TokenRoutesDeps) {
  return apiController(ctx, 'tokens')
    .post(
      '/tokens',
      async ({ principal, actor, body, set }) => {
        ctx.permissions.requireUser(principal);
        // A leaked token must not be able to mint successors that outlive its revocation.
        if (principal.via === 'token')
          throw new Forbidden('API tokens are created with a password or a web UI session, not with another token');
        const user = await ctx.users.get(principal.username);
        const { token, secret } = await ctx.tokens.create(user, body, actor);
        set.status = 201;
        set.headers['cache-control'] = 'no-store';
        return { ...token, token: secret };
      },
      {
        ...strictBody(CreateToken),
        response: { 201: CreatedToken, 400: ErrorModel, 401: ErrorModel, 403: ErrorModel },
        detail: detail(
          'Create an API token',
          'Use it as GOPROXY=https://USER:TOKEN@host/go/REPO/, in .netrc (machine host login USER password TOKEN), or as Authorization: Bearer TOKEN.',
        ),
      },
    )
    .get(
      '/tokens',
      async ({ principal, query }) => {
        ctx.permissions.requireUser(principal);
        const username = query.user ?? principal.username;
        if (username !== principal.username && !principal.isAdmin)
          throw new Forbidden(`user "${principal.username}" may only list their own tokens`);
        return ctx.tokens.list(await ctx.users.get(username));
      },
      {
        query: t.Object({ user: t.Optional(t.String({ description: 'Administrators: whose tokens; empty: your own' })) }),
        response: { 200: t.Array(TokenModel), 401: ErrorModel, 403: ErrorModel, 404: ErrorModel },
        detail: detail('List API tokens', 'Never shows secrets.'),
      },
    )
    .delete(
      '/tokens/:id',
      async ({ principal, actor, params, set }) => {
        ctx.permissions.requireUser(principal);
        const id = Number(params.id);
        if (!Number.isSafeInteger(id) || id <= 0) throw new BadRequest('token id must be a positive whole number');
        const { username } = await ctx.tokens.get(id);
        if (username !== principal.username && !principal.isAdmin) throw new Forbidden(`token ${id} belongs to another user`);
        await ctx.tokens.revoke(id, actor);
        set.status = 204;
        return null;
      },
      {
        params: t.Object({ id: t.String() }),
        response: { 400: ErrorModel, 403: ErrorModel, 404: ErrorModel },
        detail: detail('Revoke an API token', 'Takes effect on the next request. Revoking twice is not an error.'),
      },
    );
}
