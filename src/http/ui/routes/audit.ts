import { AUDIT_PAGE_DEFAULT } from '../../../audit';
import type { AppContext } from '../../../context';
import { page, signedIn, type UiControllerDeps, uiController } from '../controller';
import { isClientError } from '../forms';
import { type AuditFilterForm, auditPage } from '../pages/audit';

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** A YYYY-MM-DD from the date field as the start of that day in UTC; `plusDay` for an inclusive upper bound. */
function day(value: string, plusDay: boolean): Date | undefined {
  if (!value) return undefined;
  const d = DAY.test(value) ? new Date(`${value}T00:00:00Z`) : new Date(Number.NaN);
  if (Number.isNaN(d.getTime())) throw new Error('a day such as 2026-01-31');
  if (plusDay) d.setUTCDate(d.getUTCDate() + 1);
  return d;
}

export type AuditUiDeps = UiControllerDeps & Pick<AppContext, 'audit' | 'permissions'>;

/** /audit (administrators only): the audit log with filters, one page at a time. */
export function auditUiRoutes(ctx: AuditUiDeps, prefix: string) {
  return uiController(ctx, prefix, 'audit').get('/audit', async ({ ui, query }) => {
    const me = signedIn(ui);
    ctx.permissions.requireAdmin(me.principal);
    const q = query as Record<string, string | undefined>;
    const filter: AuditFilterForm = {
      actor: (q.actor ?? '').trim(),
      action: (q.action ?? '').trim(),
      repository: (q.repository ?? '').trim(),
      from: (q.from ?? '').trim(),
      to: (q.to ?? '').trim(),
    };
    const errors: Record<string, string> = {};
    let from: Date | undefined;
    let to: Date | undefined;
    try {
      from = day(filter.from, false);
    } catch (err) {
      errors.from = `From must be ${(err as Error).message}`;
    }
    try {
      to = day(filter.to, true);
    } catch (err) {
      errors.to = `To must be ${(err as Error).message}`;
    }
    if (Object.keys(errors).length) return page(ctx, me, auditPage(me, { entries: [], filter, nextCursor: null, errors }), 400);
    try {
      const result = await ctx.audit.list(
        { actor: filter.actor || undefined, action: filter.action || undefined, repository: filter.repository || undefined, from, to },
        { cursor: q.cursor || undefined, limit: AUDIT_PAGE_DEFAULT },
      );
      return page(ctx, me, auditPage(me, { ...result, filter }));
    } catch (err) {
      if (!isClientError(err)) throw err;
      return page(ctx, me, auditPage(me, { entries: [], filter, nextCursor: null, errors: { _form: (err as Error).message } }), 400);
    }
  });
}
