import { t } from 'elysia';
import type { Principal } from '../../auth/principal';
import { publicUser } from '../../auth/users';
import type { AppContext } from '../../context';
import { AppError, Forbidden } from '../../errors';
import { apiController, SECURED } from './controller';
import { strictBody } from './strict-body';
import { TokenModel } from './tokens';

/** The services these routes use, and no more. */
export type UserRoutesDeps = Pick<AppContext, 'auth' | 'id' | 'log' | 'permissions' | 'tokens' | 'users'>;

export const UserModel = t.Object({
  id: t.Integer(),
  username: t.String(),
  isAdmin: t.Boolean(),
  disabled: t.Boolean(),
  createdAt: t.String({ format: 'date-time' }),
  updatedAt: t.String({ format: 'date-time' }),
});

/** The users service refuses longer passwords too; the bound here also keeps a wrong "current password" from being hashed at any length. */
const Password = (description?: string) => t.String({ maxLength: 1024, description });

const CreateUser = t.Object(
  {
    username: t.String({ maxLength: 64, description: '1-64 of lowercase letters, digits, ".", "_", "-", starting with a letter or digit' }),
    password: Password('At least 5 characters'),
    isAdmin: t.Optional(t.Boolean({ default: false })),
  },
  { additionalProperties: false },
);

const UpdateUser = t.Object(
  {
    password: t.Optional(Password('A new password (at least 5 characters)')),
    isAdmin: t.Optional(t.Boolean()),
    disabled: t.Optional(t.Boolean({ description: 'A disabled user cannot sign in by any means, tokens included' })),
  },
  { additionalProperties: false },
);

const ChangeOwnPassword = t.Object(
  { currentPassword: Password(), newPassword: Password('At least 5 characters') },
  { additionalProperties: false },
);

const ErrorModel = t.Object({ error: t.String(), message: t.String() });
const UsernameParam = t.Object({ username: t.String() });
const detail = (summary: string, description?: string) => ({ tags: ['users'], summary, description, security: [...SECURED] });

/** Administrators may look at anyone; everyone else only at themselves. */
export function requireSelfOrAdmin(ctx: UserRoutesDeps, principal: Principal, username: string): void {
  ctx.permissions.requireUser(principal);
  if (!principal.isAdmin && principal.username !== username) {
    throw new Forbidden(`user "${principal.username}" may only see their own account`);
  }
}

/** /api/v1/users: administrators manage users; every user sees themselves and changes their own password. */
export function userRoutes(ctx: UserRoutesDeps) {
  return apiController(ctx, 'users')
    .get(
      '/users',
      async ({ principal }) => {
        ctx.permissions.requireAdmin(principal);
        return (await ctx.users.list()).map(publicUser);
      },
      { response: { 200: t.Array(UserModel), 401: ErrorModel, 403: ErrorModel }, detail: detail('List users') },
    )
    .post(
      '/users',
      async ({ principal, actor, body, set }) => {
        ctx.permissions.requireAdmin(principal);
        const row = await ctx.users.create(body, actor);
        set.status = 201;
        return publicUser(row);
      },
      { ...strictBody(CreateUser), response: { 201: UserModel, 400: ErrorModel, 409: ErrorModel }, detail: detail('Create a user') },
    )
    .get(
      '/users/me',
      async ({ principal }) => {
        ctx.permissions.requireUser(principal);
        return publicUser(await ctx.users.get(principal.username));
      },
      { response: { 200: UserModel, 401: ErrorModel }, detail: detail('The signed-in user') },
    )
    .put(
      '/users/me/password',
      async ({ principal, actor, body, set }) => {
        ctx.permissions.requireUser(principal);
        try {
          await ctx.auth.login(principal.username, body.currentPassword, actor.clientAddress ?? 'local');
        } catch (err) {
          // The caller is signed in; a wrong current password is a refusal, not a request for credentials.
          if (err instanceof AppError && err.status === 401) throw new Forbidden('the current password is wrong');
          throw err;
        }
        await ctx.users.update(
          principal.username,
          { password: body.newPassword },
          { actor, keepSessionId: principal.sessionId, ownPassword: true },
        );
        set.status = 204;
        return null;
      },
      {
        ...strictBody(ChangeOwnPassword),
        response: { 400: ErrorModel, 403: ErrorModel, 429: ErrorModel },
        detail: detail('Change your own password', 'Needs the current password. Ends your other web UI sessions; API tokens keep working.'),
      },
    )
    .get(
      '/users/:username',
      async ({ principal, params }) => {
        requireSelfOrAdmin(ctx, principal, params.username);
        return publicUser(await ctx.users.get(params.username));
      },
      { params: UsernameParam, response: { 200: UserModel, 403: ErrorModel, 404: ErrorModel }, detail: detail('Get a user') },
    )
    .patch(
      '/users/:username',
      async ({ principal, actor, params, body }) => {
        ctx.permissions.requireAdmin(principal);
        const keep = principal.kind === 'user' && params.username === principal.username ? principal.sessionId : undefined;
        return publicUser(await ctx.users.update(params.username, body, { actor, keepSessionId: keep }));
      },
      {
        params: UsernameParam,
        ...strictBody(UpdateUser),
        response: { 200: UserModel, 400: ErrorModel, 404: ErrorModel, 409: ErrorModel },
        detail: detail('Change a user', 'Disabling, demoting or deleting the last enabled administrator is refused with 409.'),
      },
    )
    .delete(
      '/users/:username',
      async ({ principal, actor, params, set }) => {
        ctx.permissions.requireAdmin(principal);
        await ctx.users.delete(params.username, actor);
        set.status = 204;
        return null;
      },
      {
        params: UsernameParam,
        response: { 404: ErrorModel, 409: ErrorModel },
        detail: detail('Delete a user', 'Their tokens, grants and sessions go too.'),
      },
    )
    .get(
      '/users/:username/tokens',
      async ({ principal, params }) => {
        requireSelfOrAdmin(ctx, principal, params.username);
        return ctx.tokens.list(await ctx.users.get(params.username));
      },
      {
        params: UsernameParam,
        response: { 200: t.Array(TokenModel), 403: ErrorModel, 404: ErrorModel },
        detail: { ...detail("List a user's API tokens"), tags: ['tokens'] },
      },
    );
}
