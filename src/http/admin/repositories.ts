import { t } from 'elysia';
import type { AppContext } from '../../context';
import { FIELD_LIMITS } from '../../repos/repository-service';
import { authorizedRepository } from '../repository-access';
import { apiController, SECURED } from './controller';
import { strictBody } from './strict-body';

/** The services these routes use, and no more. */
export type RepositoryRoutesDeps = Pick<AppContext, 'auth' | 'id' | 'log' | 'permissions' | 'repositories'>;

const RepositoryType = t.Union([t.Literal('hosted'), t.Literal('proxy'), t.Literal('group')]);
const WritePolicy = t.Union([t.Literal('allow_once'), t.Literal('allow'), t.Literal('deny')]);

const Settings = t.Object(
  {
    upstreamUsername: t.Optional(
      t.Nullable(t.String({ maxLength: FIELD_LIMITS.upstreamCredential, description: 'Proxy: Basic user for a private upstream' })),
    ),
    upstreamPassword: t.Optional(
      t.Nullable(
        t.String({ maxLength: FIELD_LIMITS.upstreamCredential, description: 'Proxy: Basic password for a private upstream (write-only)' }),
      ),
    ),
    connectTimeoutMs: t.Optional(t.Nullable(t.Integer({ description: 'Proxy: connect timeout (ms), default 10000' }))),
    responseTimeoutMs: t.Optional(t.Nullable(t.Integer({ description: 'Proxy: response idle timeout (ms), default 60000' }))),
    metadataTtlSeconds: t.Optional(t.Nullable(t.Integer({ description: 'Proxy: list/@latest freshness (s), default 300' }))),
    negativeTtlSeconds: t.Optional(t.Nullable(t.Integer({ description: 'Proxy: how long a 404/410 is remembered (s), default 60' }))),
    checksumVerification: t.Optional(
      t.Nullable(
        t.String({
          description:
            'Proxy: "sumdb" (default) checks every fetched zip and go.mod against the checksum database before storing it (a mismatch is a 502, nothing stored); "off" stores what the upstream serves',
          examples: ['sumdb', 'off'],
        }),
      ),
    ),
    noSumdbPatterns: t.Optional(
      t.Nullable(
        t.String({
          description:
            "Proxy: module path patterns stored without the checksum database check, comma-separated, in the go command's GONOSUMDB glob syntax (for modules of a private upstream)",
          examples: ['corp.example.com/*,git.internal'],
        }),
      ),
    ),
    gosumdb: t.Optional(
      t.Nullable(
        t.String({
          maxLength: FIELD_LIMITS.gosumdb,
          description:
            "Proxy: the checksum database this repository checks fills against, in the go command's GOSUMDB syntax (name[+hash+key] [url]); with a verifier key, signed tree heads and inclusion proofs are verified. Unset: the server's (ORBITREPO_GOSUMDB, else the go command's)",
        }),
      ),
    ),
  },
  // Unknown keys pass through to RepositoryService, which refuses them by name: Elysia would strip them silently.
  { additionalProperties: true },
);

/** A list of module path patterns in the go command's GOPRIVATE glob syntax; checked by RepositoryService (a bad glob is a 400 naming the field). */
const patterns = (description: string, examples: string[]) =>
  t.Array(t.String({ maxLength: FIELD_LIMITS.pattern }), { maxItems: FIELD_LIMITS.patterns, description, examples: [examples] });

const Namespaces = patterns(
  "Hosted: the module path patterns this repository owns, in the go command's GOPRIVATE glob syntax (each matches a path prefix: `corp.example` covers `corp.example/team/core`). Through a group, a path inside them is asked of this repository only, never of a proxy member; uploads outside them are refused. Empty: owns nothing, takes any path.",
  ['corp.example', 'github.com/myorg/*'],
);
const IncludePaths = patterns(
  'Proxy: only module paths matching one of these patterns are asked of the upstream (GOPRIVATE glob syntax). Empty: every path.',
  ['github.com/*', 'golang.org/x'],
);
const ExcludePaths = patterns(
  'Proxy: module paths matching one of these patterns are answered 404 at once and never asked of the upstream; wins over includePaths.',
  ['corp.example'],
);

export const RepositoryModel = t.Object({
  name: t.String(),
  format: t.Literal('go'),
  type: RepositoryType,
  path: t.String({ description: 'GOPROXY endpoint path, relative to the server URL' }),
  remoteUrl: t.Nullable(t.String()),
  members: t.Array(t.String()),
  anonymousRead: t.Boolean(),
  writePolicy: WritePolicy,
  description: t.String(),
  namespaces: t.Array(t.String()),
  includePaths: t.Array(t.String()),
  excludePaths: t.Array(t.String()),
  settings: t.Record(t.String(), t.Any()),
  createdAt: t.String({ format: 'date-time' }),
  updatedAt: t.String({ format: 'date-time' }),
});

const Description = t.String({ maxLength: FIELD_LIMITS.description, description: `At most ${FIELD_LIMITS.description} characters` });
const Members = t.Array(t.String({ maxLength: 64 }), {
  maxItems: FIELD_LIMITS.members,
  description: `Group: ordered member repository names (at most ${FIELD_LIMITS.members})`,
});

export const CreateRepository = t.Object(
  {
    name: t.String({ maxLength: 64, description: '1-64 of lowercase letters, digits, "-", "_", "."' }),
    format: t.Optional(t.Literal('go')),
    type: RepositoryType,
    remoteUrl: t.Optional(t.Nullable(t.String({ maxLength: FIELD_LIMITS.remoteUrl, description: 'Proxy: upstream GOPROXY URL' }))),
    members: t.Optional(Members),
    anonymousRead: t.Optional(t.Boolean({ description: 'Default: true for proxy, false for hosted and group' })),
    writePolicy: t.Optional(WritePolicy),
    description: t.Optional(Description),
    namespaces: t.Optional(Namespaces),
    includePaths: t.Optional(IncludePaths),
    excludePaths: t.Optional(ExcludePaths),
    settings: t.Optional(Settings),
  },
  { additionalProperties: false },
);

export const UpdateRepository = t.Object(
  {
    format: t.Optional(t.Literal('go')),
    type: t.Optional(RepositoryType),
    remoteUrl: t.Optional(t.String({ maxLength: FIELD_LIMITS.remoteUrl })),
    members: t.Optional(Members),
    anonymousRead: t.Optional(t.Boolean()),
    writePolicy: t.Optional(WritePolicy),
    description: t.Optional(Description),
    namespaces: t.Optional(Namespaces),
    includePaths: t.Optional(IncludePaths),
    excludePaths: t.Optional(ExcludePaths),
    settings: t.Optional(Settings),
  },
  { additionalProperties: false },
);

const ErrorModel = t.Object({ error: t.String(), message: t.String() });
const NameParam = t.Object({ name: t.String() });
const detail = (summary: string) => ({ tags: ['repositories'], summary, security: [...SECURED] });

/** /api/v1/repositories: list for anyone signed in (what they may read); changes need an administrator. */
export function repositoryRoutes(ctx: RepositoryRoutesDeps) {
  return apiController(ctx, 'repositories')
    .get(
      '/repositories',
      async ({ principal }) => {
        ctx.permissions.requireUser(principal);
        const all = await ctx.repositories.list();
        if (principal.isAdmin) return all;
        const visible = [];
        for (const view of all) {
          const row = await ctx.repositories.rowByName(view.name);
          if (row.anonymousRead || (await ctx.permissions.roleOf(principal, row))) visible.push(view);
        }
        return visible;
      },
      { response: { 200: t.Array(RepositoryModel) }, detail: detail('List the repositories you can read') },
    )
    .post(
      '/repositories',
      async ({ principal, actor, body, set }) => {
        ctx.permissions.requireAdmin(principal);
        set.status = 201;
        return ctx.repositories.create({ ...body, settings: body.settings as never }, actor);
      },
      {
        ...strictBody(CreateRepository),
        response: { 201: RepositoryModel, 400: ErrorModel, 409: ErrorModel },
        detail: detail('Create a repository'),
      },
    )
    .get(
      '/repositories/:name',
      async ({ principal, params }) => {
        return ctx.repositories.view(await authorizedRepository(ctx, principal, params.name, 'read'));
      },
      { params: NameParam, response: { 200: RepositoryModel, 404: ErrorModel }, detail: detail('Get a repository') },
    )
    .patch(
      '/repositories/:name',
      async ({ principal, actor, params, body }) => {
        await authorizedRepository(ctx, principal, params.name, 'admin');
        return ctx.repositories.update(params.name, { ...body, settings: body.settings as never }, actor);
      },
      {
        params: NameParam,
        ...strictBody(UpdateRepository),
        response: { 200: RepositoryModel, 400: ErrorModel },
        detail: detail('Change a repository'),
      },
    )
    .delete(
      '/repositories/:name',
      async ({ principal, actor, params, set }) => {
        ctx.permissions.requireAdmin(principal);
        await ctx.repositories.delete(params.name, actor);
        set.status = 204;
        return null;
      },
      { params: NameParam, detail: detail('Delete a repository') },
    );
}
