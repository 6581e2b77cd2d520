import type { AppContext } from '../../../context';
import type { CleanupPolicy } from '../../../lifecycle/cleanup';
import { actor, done, page, signedIn, uiController } from '../controller';
import { errorsFor, isClientError, str } from '../forms';
import { type CleanupFormValues, cleanupPage } from '../pages/cleanup';
import { formatSize } from '../pages/repository';
import type { SignedInEnv } from '../session';

/** The services these routes use, and no more. */
export type CleanupUiDeps = Pick<AppContext, 'cleanup' | 'id' | 'log' | 'permissions' | 'repositories' | 'sessions' | 'settings' | 'users'>;

const RULES = ['unusedDays', 'keepPrereleases', 'keepVersions'] as const;

/** The form's numbers as the service takes them: empty is off (null), digits a number; anything else is passed on for the service to refuse by name. */
function policyOf(values: CleanupFormValues): Partial<CleanupPolicy> {
  const input: Record<string, unknown> = {};
  for (const rule of RULES) {
    const v = values[rule].trim();
    input[rule] = v === '' ? null : /^\d{1,9}$/.test(v) ? Number(v) : v;
  }
  return input as Partial<CleanupPolicy>;
}

/** /repositories/:name/cleanup-policy, /cleanup: cleanup policies, their dry run and a run now (administrators, as in the API). */
export function cleanupUiRoutes(ctx: CleanupUiDeps, prefix: string) {
  const administered = async (me: SignedInEnv, name: string) => {
    ctx.permissions.requireAdmin(me.principal);
    return ctx.repositories.rowByName(name);
  };

  return uiController(ctx, prefix, 'cleanup')
    .get('/repositories/:name/cleanup', async ({ ui, params }) => {
      const me = signedIn(ui);
      const row = await administered(me, params.name);
      const [repo, policy, report] = [
        await ctx.repositories.view(row),
        await ctx.cleanup.get(row),
        await ctx.cleanup.run(row, { dryRun: true }),
      ];
      return page(ctx, me, cleanupPage(me, { repo, policy, report }));
    })
    .post('/repositories/:name/cleanup-policy', async ({ ui, params, form }) => {
      const me = signedIn(ui);
      const row = await administered(me, params.name);
      const values: CleanupFormValues = {
        unusedDays: str(form, 'unusedDays'),
        keepPrereleases: str(form, 'keepPrereleases'),
        keepVersions: str(form, 'keepVersions'),
      };
      try {
        const saved = await ctx.cleanup.set(row, policyOf(values), actor(me));
        const on = saved.unusedDays !== null || saved.keepPrereleases !== null || saved.keepVersions !== null;
        const back = on ? `/repositories/${encodeURIComponent(row.name)}/cleanup` : `/repositories/${encodeURIComponent(row.name)}`;
        return done(
          ctx,
          me,
          back,
          on ? 'The cleanup policy was saved. This is what it would remove now.' : 'The cleanup policy was removed.',
        );
      } catch (err) {
        if (!isClientError(err)) throw err;
        const [repo, policy, report] = [
          await ctx.repositories.view(row),
          await ctx.cleanup.get(row),
          await ctx.cleanup.run(row, { dryRun: true }),
        ];
        return page(ctx, me, cleanupPage(me, { repo, policy, report, values, errors: errorsFor(err) }), 400);
      }
    })
    .post('/repositories/:name/cleanup', async ({ ui, params }) => {
      const me = signedIn(ui);
      const row = await administered(me, params.name);
      const report = await ctx.cleanup.run(row, { actor: actor(me) });
      const notice = report.removed
        ? `The cleanup removed ${report.removed} version${report.removed === 1 ? '' : 's'} (${formatSize(report.bytes)}).`
        : 'The cleanup removed nothing: the policy keeps every version now.';
      return done(ctx, me, `/repositories/${encodeURIComponent(row.name)}`, notice);
    });
}
