import { t } from 'elysia';
import type { AppContext } from '../../context';
import { type CleanupPolicy, checkRule, POLICY_MAX } from '../../lifecycle/cleanup';
import { apiController, SECURED } from './controller';
import { strictBody } from './strict-body';

/** The services these routes use, and no more. */
export type CleanupRoutesDeps = Pick<AppContext, 'auth' | 'cleanup' | 'id' | 'log' | 'permissions' | 'repositories'>;

const ErrorModel = t.Object({ error: t.String(), message: t.String() });
const NameParam = t.Object({ name: t.String() });
const rule = (description: string) =>
  t.Optional(t.Nullable(t.Integer({ minimum: 1, maximum: POLICY_MAX, description: `${description}; null or absent: off` })));

const PolicyInput = t.Object(
  {
    unusedDays: rule('Proxy only: remove cached versions neither downloaded nor cached for this many days'),
    keepPrereleases: rule('Keep only the newest N pre-releases (pseudo-versions included) of each module'),
    keepVersions: rule('Keep at most N versions of each module'),
  },
  { additionalProperties: false },
);

export const CleanupPolicyModel = t.Object({
  unusedDays: t.Nullable(t.Integer()),
  keepPrereleases: t.Nullable(t.Integer()),
  keepVersions: t.Nullable(t.Integer()),
  updatedBy: t.Nullable(t.String()),
  updatedAt: t.Nullable(t.String({ format: 'date-time' })),
});

const RULES: (keyof CleanupPolicy)[] = ['unusedDays', 'keepPrereleases', 'keepVersions'];

/**
 * strictBody (which refuses "3" as sent, before the schema could coerce it), then each rule's range checked
 * by the service's own rule, so that 0 gets the rule's message rather than the schema's.
 */
function strictPolicyBody() {
  const strict = strictBody(PolicyInput);
  return {
    ...strict,
    transform(context: { body: unknown }) {
      strict.transform(context);
      if (typeof context.body === 'object' && context.body !== null)
        for (const rule of RULES) checkRule(context.body as Record<string, unknown>, rule);
    },
  };
}

const RunRequest = t.Object(
  { dryRun: t.Optional(t.Boolean({ default: false, description: 'List what would be removed, remove nothing' })) },
  { additionalProperties: false },
);

export const CleanupReportModel = t.Object({
  repository: t.String(),
  dryRun: t.Boolean(),
  versions: t.Array(
    t.Object({
      module: t.String(),
      version: t.String(),
      size: t.Integer({ description: 'Zip size in bytes' }),
      reason: t.Union([t.Literal('unusedDays'), t.Literal('keepPrereleases'), t.Literal('keepVersions')]),
    }),
    { description: 'Every version removed (or that would be)' },
  ),
  removed: t.Integer(),
  bytes: t.Integer({ description: 'Their total zip size' }),
});

const detail = (summary: string, description: string) => ({ tags: ['maintenance'], summary, description, security: [...SECURED] });

/** /api/v1/repositories/:name/cleanup-policy and /cleanup: cleanup policies, for administrators. */
export function cleanupRoutes(ctx: CleanupRoutesDeps) {
  return apiController(ctx, 'cleanup')
    .get(
      '/repositories/:name/cleanup-policy',
      async ({ principal, params }) => {
        ctx.permissions.requireAdmin(principal);
        return ctx.cleanup.get(await ctx.repositories.rowByName(params.name));
      },
      {
        params: NameParam,
        response: { 200: CleanupPolicyModel, 401: ErrorModel, 403: ErrorModel, 404: ErrorModel },
        detail: detail('Get the cleanup policy of a repository', 'Every rule null: no policy.'),
      },
    )
    .put(
      '/repositories/:name/cleanup-policy',
      async ({ principal, actor, params, body }) => {
        ctx.permissions.requireAdmin(principal);
        return ctx.cleanup.set(await ctx.repositories.rowByName(params.name), body, actor);
      },
      {
        params: NameParam,
        ...strictPolicyBody(),
        response: { 200: CleanupPolicyModel, 400: ErrorModel, 401: ErrorModel, 403: ErrorModel, 404: ErrorModel },
        detail: detail(
          'Set the cleanup policy of a repository',
          'Replaces every rule (absent means off; all off removes the policy). The policy runs on the storage lifecycle schedule (ORBITREPO_GC_INTERVAL) and on demand. The version @latest answers is never removed. Hosted removals leave tombstones under allow_once; cached proxy versions are fetched again when asked for.',
        ),
      },
    )
    .post(
      '/repositories/:name/cleanup',
      async ({ principal, actor, params, body }) => {
        ctx.permissions.requireAdmin(principal);
        return ctx.cleanup.run(await ctx.repositories.rowByName(params.name), { dryRun: body?.dryRun ?? false, actor });
      },
      {
        params: NameParam,
        ...strictBody(RunRequest),
        response: { 200: CleanupReportModel, 400: ErrorModel, 401: ErrorModel, 403: ErrorModel, 404: ErrorModel },
        detail: detail(
          'Apply the cleanup policy now',
          'With dryRun, lists exactly what would be removed and its size, removing nothing. Each removal is audited (actor cleanup-policy), and the run writes one cleanup.run entry with the count and bytes.',
        ),
      },
    );
}
