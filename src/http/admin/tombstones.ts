import { t } from 'elysia';
import type { AppContext } from '../../context';
import { authorizedRepository } from '../repository-access';
import { apiController, SECURED } from './controller';

/** The services these routes use, and no more. */
export type TombstoneRoutesDeps = Pick<AppContext, 'auth' | 'id' | 'log' | 'permissions' | 'repositories' | 'tombstones'>;

const ErrorModel = t.Object({ error: t.String(), message: t.String() });
const NameParam = t.Object({ name: t.String() });
const VersionQuery = t.Object({
  module: t.String({ minLength: 1, description: 'Module path' }),
  version: t.String({ minLength: 1, description: 'Exact version, e.g. v1.2.3' }),
});

export const TombstoneModel = t.Object({
  module: t.String(),
  version: t.String(),
  h1: t.String({ description: 'go.sum hash of the deleted zip' }),
  goModH1: t.String({ description: 'go.sum hash of its go.mod' }),
  size: t.Nullable(t.Integer()),
  deletedBy: t.Nullable(t.String()),
  deletedAt: t.String({ format: 'date-time' }),
});

const detail = (summary: string, description: string) => ({ tags: ['modules'], summary, description, security: [...SECURED] });

/** /api/v1/repositories/:name/tombstones: what deleted versions a hosted repository (allow_once) remembers. */
export function tombstoneRoutes(ctx: TombstoneRoutesDeps) {
  const { tombstones } = ctx;
  return apiController(ctx, 'tombstones')
    .get(
      '/repositories/:name/tombstones',
      async ({ principal, params }) => {
        return tombstones.list(await authorizedRepository(ctx, principal, params.name, 'read'));
      },
      {
        params: NameParam,
        response: { 200: t.Array(TombstoneModel), 401: ErrorModel, 403: ErrorModel, 404: ErrorModel },
        detail: detail(
          'List the tombstones of deleted versions',
          'Under write policy allow_once a deleted version leaves a tombstone with its go.sum hashes: uploading the same bytes again restores the version, different bytes are refused with 409.',
        ),
      },
    )
    .delete(
      '/repositories/:name/tombstones',
      async ({ principal, actor, params, query, set }) => {
        ctx.permissions.requireAdmin(principal);
        const row = await ctx.repositories.rowByName(params.name);
        await tombstones.purge(row, query.module, query.version, actor);
        set.status = 204;
        return null;
      },
      {
        params: NameParam,
        query: VersionQuery,
        detail: detail(
          'Purge one tombstone (administrators)',
          'Lets different bytes be published under a deleted version. Every go.sum that pinned the old hashes then fails with a checksum mismatch for that version: do this only when nobody can have used it.',
        ),
      },
    );
}
