import type { AppContext } from '../../../context';
import type { RepositoryType, WritePolicy } from '../../../db/schema';
import { BadRequest } from '../../../errors';
import { splitPathPatterns } from '../../../goproxy/path-patterns';
import type { RepositoryInput, RepositoryPatch, RepositoryView } from '../../../repos/repository-service';
import { authorizedRepository } from '../../repository-access';
import { actor, done, page, signedIn, uiController } from '../controller';
import { errorsFor, isClientError, str } from '../forms';
import { url } from '../layout';
import { deleteRepositoryPage, repositoriesPage } from '../pages/repositories';
import { EMPTY_FORM, formValuesOf, type RepositoryFormValues, repositoryFormPage, WRITE_POLICIES } from '../pages/repository-form';
import { redirect } from '../respond';
import type { SignedInEnv } from '../session';

/** The services these routes use, and no more. */
export type RepositoryUiDeps = Pick<AppContext, 'id' | 'log' | 'permissions' | 'repositories' | 'sessions' | 'settings' | 'users'>;

/** RepositoryService's field names that this form spells otherwise: its settings are the upstream credentials, or a checksum field. */
const FORM_FIELDS = { settings: 'upstream' };

/** A settings refusal shown beside the checksum field it names, else beside the upstream credentials. */
function fieldsOf(err: unknown): Record<string, string> {
  const message = err instanceof Error ? err.message : '';
  for (const field of ['gosumdb', 'noSumdbPatterns', 'checksumVerification']) if (message.includes(field)) return { settings: field };
  return FORM_FIELDS;
}

/** The form as submitted, members ordered by their position inputs (unnumbered ones last, as listed). */
export function readRepositoryForm(form: FormData): RepositoryFormValues & { upstreamPassword: string; pathFieldsSent: string[] } {
  const ticked = form.getAll('members').filter((m): m is string => typeof m === 'string');
  const position = (name: string) => {
    const n = Number.parseInt(str(form, `position:${name}`), 10);
    return Number.isFinite(n) ? n : Number.POSITIVE_INFINITY;
  };
  const members = ticked.map((name, i) => ({ name, i, pos: position(name) })).sort((a, b) => a.pos - b.pos || a.i - b.i);
  return {
    format: str(form, 'format') || 'go',
    type: str(form, 'type'),
    name: str(form, 'name').trim(),
    description: str(form, 'description'),
    remoteUrl: str(form, 'remoteUrl').trim(),
    upstreamUsername: str(form, 'upstreamUsername').trim(),
    upstreamPassword: str(form, 'upstreamPassword'),
    checksumVerification: str(form, 'checksumVerification') || 'sumdb',
    noSumdbPatterns: str(form, 'noSumdbPatterns').trim(),
    gosumdb: str(form, 'gosumdb').trim(),
    namespaces: str(form, 'namespaces').trim(),
    includePaths: str(form, 'includePaths').trim(),
    excludePaths: str(form, 'excludePaths').trim(),
    // A path field the form did not have is left as it is, never cleared.
    pathFieldsSent: ['namespaces', 'includePaths', 'excludePaths'].filter((f) => form.has(f)),
    members: members.map((m) => m.name),
    anonymousRead: form.get('anonymousRead') !== null,
    // Empty when the form had no such field (edit forms of proxies and groups): left as it is.
    writePolicy: str(form, 'writePolicy'),
  };
}

/** A comma-separated field as a list of patterns; RepositoryService checks each. */
const patternList = (value: string): string[] => splitPathPatterns(value);

function writePolicyOf(value: string): WritePolicy {
  if (!WRITE_POLICIES.some(([p]) => p === value))
    throw new BadRequest('writePolicy must be allow_once, allow or deny', { field: 'writePolicy' });
  return value as WritePolicy;
}

export function createInput(v: ReturnType<typeof readRepositoryForm>): RepositoryInput {
  const proxy = v.type === 'proxy';
  return {
    name: v.name,
    format: v.format as 'go',
    type: v.type as RepositoryType,
    // Fields of the other types stay in the page (hidden), so only the chosen type's are passed on.
    remoteUrl: proxy ? v.remoteUrl : undefined,
    members: v.type === 'group' ? v.members : undefined,
    namespaces: v.type === 'hosted' ? patternList(v.namespaces) : undefined,
    includePaths: proxy ? patternList(v.includePaths) : undefined,
    excludePaths: proxy ? patternList(v.excludePaths) : undefined,
    anonymousRead: v.anonymousRead,
    writePolicy: writePolicyOf(v.writePolicy || 'allow_once'),
    description: v.description,
    settings: proxy
      ? {
          ...(v.upstreamUsername ? { upstreamUsername: v.upstreamUsername, upstreamPassword: v.upstreamPassword || undefined } : {}),
          ...checksumSettings(v),
        }
      : undefined,
  };
}

/** The checksum fields as settings; anything but "off" is the default check (the service refuses other values it is sent). */
function checksumSettings(v: ReturnType<typeof readRepositoryForm>) {
  return {
    checksumVerification: (v.checksumVerification === 'off' ? 'off' : 'sumdb') as 'sumdb' | 'off',
    ...(v.noSumdbPatterns ? { noSumdbPatterns: v.noSumdbPatterns } : {}),
    ...(v.gosumdb ? { gosumdb: v.gosumdb } : {}),
  };
}

export function updatePatch(current: RepositoryView, v: ReturnType<typeof readRepositoryForm>): RepositoryPatch {
  const patch: RepositoryPatch = { description: v.description, anonymousRead: v.anonymousRead };
  if (v.writePolicy) patch.writePolicy = writePolicyOf(v.writePolicy);
  const sent = (f: string) => v.pathFieldsSent.includes(f);
  if (current.type === 'hosted' && sent('namespaces')) patch.namespaces = patternList(v.namespaces);
  if (current.type === 'proxy') {
    if (sent('includePaths')) patch.includePaths = patternList(v.includePaths);
    if (sent('excludePaths')) patch.excludePaths = patternList(v.excludePaths);
    patch.remoteUrl = v.remoteUrl;
    // An empty password keeps the stored one; an empty username clears both.
    patch.settings = v.upstreamUsername
      ? { upstreamUsername: v.upstreamUsername, ...(v.upstreamPassword ? { upstreamPassword: v.upstreamPassword } : {}) }
      : { upstreamUsername: null as never, upstreamPassword: null as never };
    patch.settings = {
      ...patch.settings,
      ...checksumSettings(v),
      noSumdbPatterns: (v.noSumdbPatterns || null) as never,
      gosumdb: (v.gosumdb || null) as never,
    };
  }
  if (current.type === 'group') patch.members = v.members;
  return patch;
}

/** Repositories anyone signed in can see: all of them for administrators, else those they may read. */
async function visibleRepositories(ctx: RepositoryUiDeps, ui: SignedInEnv): Promise<RepositoryView[]> {
  const all = await ctx.repositories.list();
  if (ui.principal.isAdmin) return all;
  const visible: RepositoryView[] = [];
  for (const view of all) {
    const row = await ctx.repositories.rowByName(view.name);
    if (row.anonymousRead || (await ctx.permissions.roleOf(ui.principal, row))) visible.push(view);
  }
  return visible;
}

function requireAdmin(ctx: RepositoryUiDeps, ui: SignedInEnv): void {
  ctx.permissions.requireAdmin(ui.principal);
}

/** /, /repositories/new, /repositories/:name/edit and /delete: the list and its create/edit/delete forms. */
export function repositoryUiRoutes(ctx: RepositoryUiDeps, prefix: string) {
  return uiController(ctx, prefix, 'repositories')
    .get('/', async ({ ui }) => {
      const me = signedIn(ui);
      return page(ctx, me, repositoriesPage(me, await visibleRepositories(ctx, me)));
    })
    .get('/repositories', ({ ui }) => redirect(url(ui, '/')))
    .get('/repositories/new', async ({ ui }) => {
      const me = signedIn(ui);
      requireAdmin(ctx, me);
      return page(ctx, me, repositoryFormPage(me, { mode: 'create', values: EMPTY_FORM, candidates: await ctx.repositories.list() }));
    })
    .post('/repositories', async ({ ui, form }) => {
      const me = signedIn(ui);
      requireAdmin(ctx, me);
      const values = readRepositoryForm(form);
      try {
        const created = await ctx.repositories.create(createInput(values), actor(me));
        return done(ctx, me, `/repositories/${encodeURIComponent(created.name)}`, `Repository ${created.name} was created.`);
      } catch (err) {
        if (!isClientError(err)) throw err;
        const body = repositoryFormPage(me, {
          mode: 'create',
          values,
          candidates: await ctx.repositories.list(),
          errors: errorsFor(err, fieldsOf(err)),
        });
        return page(ctx, me, body, 400);
      }
    })
    .get('/repositories/:name/edit', async ({ ui, params }) => {
      const me = signedIn(ui);
      const view = await ctx.repositories.view(await authorizedRepository(ctx, me.principal, params.name, 'admin'));
      const body = repositoryFormPage(me, {
        mode: 'edit',
        values: formValuesOf(view),
        candidates: await ctx.repositories.list(),
        passwordSet: view.settings.upstreamPasswordSet,
      });
      return page(ctx, me, body);
    })
    .post('/repositories/:name/edit', async ({ ui, params, form }) => {
      const me = signedIn(ui);
      const current = await ctx.repositories.view(await authorizedRepository(ctx, me.principal, params.name, 'admin'));
      const values = { ...readRepositoryForm(form), name: current.name, type: current.type };
      try {
        await ctx.repositories.update(current.name, updatePatch(current, values), actor(me));
        return done(ctx, me, `/repositories/${encodeURIComponent(current.name)}`, `Repository ${current.name} was saved.`);
      } catch (err) {
        if (!isClientError(err)) throw err;
        const body = repositoryFormPage(me, {
          mode: 'edit',
          values,
          candidates: await ctx.repositories.list(),
          errors: errorsFor(err, fieldsOf(err)),
          passwordSet: current.settings.upstreamPasswordSet,
        });
        return page(ctx, me, body, 400);
      }
    })
    .get('/repositories/:name/delete', async ({ ui, params }) => {
      const me = signedIn(ui);
      requireAdmin(ctx, me);
      return page(ctx, me, deleteRepositoryPage(me, await ctx.repositories.get(params.name)));
    })
    .post('/repositories/:name/delete', async ({ ui, params }) => {
      const me = signedIn(ui);
      requireAdmin(ctx, me);
      const view = await ctx.repositories.get(params.name);
      try {
        await ctx.repositories.delete(view.name, actor(me));
      } catch (err) {
        if (!isClientError(err)) throw err;
        return page(ctx, me, deleteRepositoryPage(me, view, errorsFor(err)._form), 409);
      }
      return done(ctx, me, '/', `Repository ${view.name} was deleted.`);
    });
}
