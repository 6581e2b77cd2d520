import { t } from 'elysia';
import type { AppContext } from '../../context';
import { authorizedRepository } from '../repository-access';
import { apiController, SECURED } from './controller';
import { strictBody } from './strict-body';

/** The services these routes use, and no more. */
export type PermissionRoutesDeps = Pick<AppContext, 'auth' | 'id' | 'log' | 'permissions' | 'repositories'>;

const Role = t.Union([t.Literal('read'), t.Literal('write'), t.Literal('admin')], {
  description: 'read: download; write: also upload and delete versions; admin: also settings and grants',
});

const GrantModel = t.Object({ username: t.String(), role: Role, createdAt: t.String({ format: 'date-time' }) });
const ErrorModel = t.Object({ error: t.String(), message: t.String() });
const NameParam = t.Object({ name: t.String() });
const GrantParams = t.Object({ name: t.String(), username: t.String() });
const detail = (summary: string) => ({ tags: ['permissions'], summary, security: [...SECURED] });

/** /api/v1/repositories/:name/permissions: grants, managed by the repository's admins and global administrators. */
export function permissionRoutes(ctx: PermissionRoutesDeps) {
  /** The repository, once the caller is known to administer it (401/403 before anything else is said). */
  const administered = async (principal: Parameters<typeof ctx.permissions.authorize>[0], name: string) => {
    // Anonymous callers can never administer: ask for credentials before saying whether the repository exists.
    ctx.permissions.requireUser(principal);
    return authorizedRepository(ctx, principal, name, 'admin');
  };

  return apiController(ctx, 'permissions')
    .get(
      '/repositories/:name/permissions',
      async ({ principal, params }) => ctx.permissions.list(await administered(principal, params.name)),
      {
        params: NameParam,
        response: { 200: t.Array(GrantModel), 401: ErrorModel, 403: ErrorModel, 404: ErrorModel },
        detail: detail('List the grants on a repository'),
      },
    )
    .put(
      '/repositories/:name/permissions/:username',
      async ({ principal, actor, params, body }) => {
        const repo = await administered(principal, params.name);
        return (await ctx.permissions.grant(repo, params.username, body.role, actor)).grant;
      },
      {
        params: GrantParams,
        ...strictBody(t.Object({ role: Role }, { additionalProperties: false })),
        response: { 200: GrantModel, 400: ErrorModel, 401: ErrorModel, 403: ErrorModel, 404: ErrorModel },
        detail: detail('Give a user a role on a repository (replaces their previous role)'),
      },
    )
    .delete(
      '/repositories/:name/permissions/:username',
      async ({ principal, actor, params, set }) => {
        const repo = await administered(principal, params.name);
        await ctx.permissions.revoke(repo, params.username, actor);
        set.status = 204;
        return null;
      },
      { params: GrantParams, response: { 401: ErrorModel, 403: ErrorModel, 404: ErrorModel }, detail: detail("Take a user's grant away") },
    );
}
