import { t } from 'elysia';
import { AUDIT_PAGE_DEFAULT, AUDIT_PAGE_MAX } from '../../audit';
import type { AppContext } from '../../context';
import { BadRequest } from '../../errors';
import { type ApiControllerDeps, apiController, SECURED } from './controller';

export const AuditEntryModel = t.Object({
  id: t.Integer(),
  at: t.String({ format: 'date-time' }),
  actor: t.Nullable(t.String({ description: 'User name; null for the server itself' })),
  action: t.String({ description: 'e.g. repository.create, module.publish, user.update, token.revoke, permission.grant' }),
  repository: t.Nullable(t.String()),
  target: t.Nullable(
    t.String({ description: 'What was acted on inside the repository or user space: module@version, user name, token id' }),
  ),
  details: t.Record(t.String(), t.Unknown()),
  clientAddress: t.Nullable(t.String()),
});

const AuditPageModel = t.Object({
  entries: t.Array(AuditEntryModel),
  nextCursor: t.Nullable(t.String({ description: 'Pass as `cursor` to get the next, older page; null on the last page' })),
});

const AuditQuery = t.Object({
  actor: t.Optional(t.String({ description: 'Only entries by this user' })),
  action: t.Optional(t.String({ description: 'An action (`module.publish`) or a family (`repository.*`)' })),
  repository: t.Optional(t.String()),
  from: t.Optional(t.String({ format: 'date-time', description: 'Entries at or after this time (RFC 3339)' })),
  to: t.Optional(t.String({ format: 'date-time', description: 'Entries before this time (RFC 3339)' })),
  cursor: t.Optional(t.String({ description: 'The nextCursor of the previous page' })),
  // The range is checked in the handler, whose message names the parameter (the validator's does not, for a query).
  limit: t.Optional(t.Numeric({ description: `Entries per page, 1 to ${AUDIT_PAGE_MAX}; default ${AUDIT_PAGE_DEFAULT}` })),
});

const ErrorModel = t.Object({ error: t.String(), message: t.String() });

function time(name: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new BadRequest(`${name} must be a time such as 2026-01-31T12:00:00Z`);
  return d;
}

/** /api/v1/audit: who did what, newest first, for administrators. */
export function auditRoutes(ctx: ApiControllerDeps & Pick<AppContext, 'audit' | 'permissions'>) {
  return apiController(ctx, 'audit').get(
    '/audit',
    async ({ principal, query }) => {
      ctx.permissions.requireAdmin(principal);
      if (query.limit !== undefined && !(Number.isInteger(query.limit) && query.limit >= 1 && query.limit <= AUDIT_PAGE_MAX)) {
        throw new BadRequest(`limit must be a whole number from 1 to ${AUDIT_PAGE_MAX}`);
      }
      const page = await ctx.audit.list(
        {
          actor: query.actor,
          action: query.action,
          repository: query.repository,
          from: time('from', query.from),
          to: time('to', query.to),
        },
        { cursor: query.cursor, limit: query.limit },
      );
      return { ...page, entries: page.entries.map((e) => ({ ...e, at: e.at.toISOString() })) };
    },
    {
      query: AuditQuery,
      response: { 200: AuditPageModel, 400: ErrorModel, 401: ErrorModel, 403: ErrorModel },
      detail: {
        tags: ['audit'],
        summary: 'Read the audit log',
        description:
          'Every administrative and publishing action: repositories, modules published and deleted, users, tokens, grants. ' +
          'Newest first, `limit` entries a page (default 50, at most 500); follow `nextCursor` for older entries. Administrators only.',
        security: [...SECURED],
      },
    },
  );
}
