import { t } from 'elysia';
import type { AppContext } from '../../context';
import { DEFAULT_GC_GRACE_MS } from '../../lifecycle/blob-gc';
import { apiController, SECURED } from './controller';
import { strictBody } from './strict-body';

const ErrorModel = t.Object({ error: t.String(), message: t.String() });

const GcRequest = t.Object(
  { dryRun: t.Optional(t.Boolean({ default: false, description: 'List what would be removed, remove nothing' })) },
  { additionalProperties: false },
);

export const GcReportModel = t.Object({
  ran: t.Boolean({ description: 'False when another collector (in any process) was already running: nothing was done' }),
  dryRun: t.Boolean(),
  scanned: t.Integer({ description: 'Content-addressed blobs seen in storage' }),
  removed: t.Integer({ description: 'Unreferenced blobs removed (or that would be, on a dry run)' }),
  bytes: t.Integer({ description: 'Their total size' }),
  blobs: t.Array(t.Object({ key: t.String(), size: t.Integer(), modifiedAt: t.String({ format: 'date-time' }) }), {
    description: 'The removed blobs by key (at most the first 1000)',
  }),
  young: t.Integer({ description: 'Unreferenced blobs kept because they were written within the grace period' }),
  cacheRows: t.Integer({ description: 'Expired proxy metadata rows (remembered 404s, long-expired answers) pruned' }),
  staged: t.Integer({ description: 'Leftovers of interrupted uploads removed' }),
});

/** /api/v1/maintenance: storage lifecycle on demand, for administrators. */
/** The services these routes use, and no more. */
export type MaintenanceRoutesDeps = Pick<AppContext, 'auth' | 'collector' | 'id' | 'log' | 'permissions' | 'settings'>;

export function maintenanceRoutes(ctx: MaintenanceRoutesDeps) {
  const graceMs = ctx.settings.gcGraceSeconds !== undefined ? ctx.settings.gcGraceSeconds * 1000 : DEFAULT_GC_GRACE_MS;
  return apiController(ctx, 'maintenance').post(
    '/maintenance/gc',
    async ({ principal, body }) => {
      ctx.permissions.requireAdmin(principal);
      return ctx.collector.run({
        dryRun: body?.dryRun ?? false,
        graceMs,
        actor: principal.kind === 'user' ? principal.username : undefined,
      });
    },
    {
      // A body ({} at least) is required like every other write: a bodiless cross-site POST is exactly what CSRF sends.
      ...strictBody(GcRequest),
      response: { 200: GcReportModel, 400: ErrorModel, 401: ErrorModel, 403: ErrorModel },
      detail: {
        tags: ['maintenance'],
        summary: 'Collect unreferenced blobs now',
        description:
          'Removes content-addressed blobs no version refers to, once older than the grace period (default 24 h), and prunes expired proxy metadata. One collector runs at a time across every process: when another is running, the answer has ran=false. With dryRun, lists what would go and its size.',
        security: [...SECURED],
      },
    },
  );
}
