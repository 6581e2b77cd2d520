import { t } from 'elysia';
import type { Principal } from '../../auth/principal';
import type { AppContext } from '../../context';
import { DEFAULT_PAGE, DEFAULT_VERSION_PAGE, MAX_PAGE } from '../../repos/module-service';
import { authorizedRepository } from '../repository-access';
import { apiController, SECURED } from './controller';

/** The services these routes use, and no more. */
export type ModuleRoutesDeps = Pick<AppContext, 'auth' | 'id' | 'log' | 'modules' | 'permissions' | 'repositories'>;

export const ModuleSummaryModel = t.Object({
  module: t.String(),
  versions: t.Integer(),
  latest: t.Nullable(t.String({ description: 'What @latest would answer from the versions stored here' })),
  updatedAt: t.String({ format: 'date-time' }),
});

export const ModulePageModel = t.Object({
  total: t.Integer({ description: 'Modules matching the prefix, over all pages' }),
  modules: t.Array(ModuleSummaryModel),
});

export const ModuleVersionModel = t.Object({
  version: t.String(),
  time: t.String({ format: 'date-time', description: 'The time .info reports' }),
  size: t.Nullable(t.Integer({ description: 'Zip size in bytes; null when a proxy has not cached the zip' })),
  h1: t.Nullable(t.String({ description: 'go.sum hash of the zip' })),
  goModH1: t.Nullable(t.String({ description: 'go.sum hash of the go.mod' })),
  origin: t.Union([t.Literal('uploaded'), t.Literal('cached')]),
  createdBy: t.Nullable(t.String()),
  createdAt: t.String({ format: 'date-time' }),
  downloads: t.Integer({ description: 'Zip downloads served from this repository; counted in memory and written every few seconds' }),
  lastDownloadedAt: t.Nullable(t.String({ format: 'date-time', description: 'When its zip was last downloaded; null: never' })),
});

const ErrorModel = t.Object({ error: t.String(), message: t.String() });
const NameParam = t.Object({ name: t.String() });
// Module paths contain slashes, so they travel as query parameters, never as path segments.
const VersionPageQuery = t.Object({
  module: t.String({ minLength: 1, description: 'Module path' }),
  limit: t.Optional(
    t.Numeric({ minimum: 1, maximum: MAX_PAGE, default: DEFAULT_VERSION_PAGE, description: 'Versions per page (newest first)' }),
  ),
  cursor: t.Optional(
    t.String({
      minLength: 1,
      description: 'The last version of the previous page (from the Link header); the page starts with the next older version',
    }),
  ),
});
const VersionQuery = t.Object({
  module: t.String({ minLength: 1, description: 'Module path' }),
  version: t.String({ minLength: 1, description: 'Exact version, e.g. v1.2.3' }),
});
const PageQuery = t.Object({
  prefix: t.Optional(t.String({ description: 'Only module paths starting with this' })),
  limit: t.Optional(t.Numeric({ minimum: 1, maximum: MAX_PAGE, default: DEFAULT_PAGE })),
  offset: t.Optional(t.Numeric({ minimum: 0, default: 0 })),
});
const detail = (summary: string) => ({ tags: ['modules'], summary, security: [...SECURED] });

/** /api/v1/repositories/:name/modules…: what a hosted or proxy repository stores. Reads need read, deletes write. */
export function moduleRoutes(ctx: ModuleRoutesDeps) {
  const { modules } = ctx;
  const readable = (principal: Principal, name: string, access: 'read' | 'write' = 'read') =>
    authorizedRepository(ctx, principal, name, access);

  return apiController(ctx, 'modules')
    .get(
      '/repositories/:name/modules',
      async ({ principal, params, query }) => modules.listModules(await readable(principal, params.name), query),
      {
        params: NameParam,
        query: PageQuery,
        response: { 200: ModulePageModel, 400: ErrorModel, 404: ErrorModel },
        detail: detail('List the modules of a repository, by path, with version counts'),
      },
    )
    .get(
      '/repositories/:name/modules/versions',
      async ({ principal, params, query, request, set }) => {
        const page = await modules.versionPage(await readable(principal, params.name), query.module, query);
        set.headers['x-total-count'] = String(page.total);
        if (page.nextCursor) {
          const next = new URL(request.url);
          next.searchParams.set('cursor', page.nextCursor);
          if (query.limit !== undefined) next.searchParams.set('limit', String(query.limit));
          set.headers.link = `<${next.pathname}${next.search}>; rel="next"`;
        }
        return page.versions;
      },
      {
        params: NameParam,
        query: VersionPageQuery,
        response: { 200: t.Array(ModuleVersionModel), 400: ErrorModel, 404: ErrorModel },
        detail: detail(
          'List the versions of one module, newest first in semver order, one page at a time. The answer carries ' +
            '`X-Total-Count` (versions over all pages) and, when more follow, `Link: <…>; rel="next"` whose address ' +
            'holds the next cursor (the last version of this page).',
        ),
      },
    )
    .delete(
      '/repositories/:name/modules/versions',
      async ({ principal, actor, params, query, set }) => {
        await modules.deleteVersion(await readable(principal, params.name, 'write'), query.module, query.version, actor);
        set.status = 204;
        return null;
      },
      {
        params: NameParam,
        query: VersionQuery,
        detail: detail('Delete one version (hosted: unpublish; proxy: evict from the cache)'),
      },
    )
    .get(
      '/repositories/:name/modules/gomod',
      async ({ principal, params, query }) => {
        const text = await modules.goMod(await readable(principal, params.name), query.module, query.version);
        return new Response(text, { headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' } });
      },
      {
        params: NameParam,
        query: VersionQuery,
        detail: detail('The go.mod of one version, as text'),
      },
    );
}
