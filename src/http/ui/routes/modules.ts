import type { Access } from '../../../auth/principal';
import type { AppContext } from '../../../context';
import type { RepositoryRow } from '../../../db/schema';
import { BadRequest, toAppError } from '../../../errors';
import { retractionFor, summarizeGoMod } from '../../../goproxy/gomod';
import { selectLatest } from '../../../goproxy/version';
import { DEFAULT_PAGE, pageOfVersions } from '../../../repos/module-service';
import { ownedNamespaces } from '../../../repos/path-routing';
import { authorizedRepository, readableRepositories } from '../../repository-access';
import { actor, done, page, signedIn, uiController } from '../controller';
import { str } from '../forms';
import { modulePage } from '../pages/module';
import { repositoryPage } from '../pages/repository';
import type { SignedInEnv } from '../session';
import { afterOf } from './search';

/** The services these routes use, and no more. */
export type ModuleUiDeps = Pick<
  AppContext,
  'cleanup' | 'id' | 'log' | 'modules' | 'permissions' | 'repositories' | 'search' | 'sessions' | 'settings' | 'tombstones' | 'users'
>;

/** Versions per page on a module's page. */
const UI_VERSION_PAGE = 50;

async function may(ctx: ModuleUiDeps, ui: SignedInEnv, row: RepositoryRow, access: Access): Promise<boolean> {
  try {
    await ctx.permissions.authorize(ui.principal, row, access);
    return true;
  } catch {
    return false;
  }
}

/** /repositories/:name (modules, setup, upload), its /module page, and deleting a version. */
export function moduleUiRoutes(ctx: ModuleUiDeps, prefix: string) {
  const { modules, tombstones } = ctx;

  return uiController(ctx, prefix, 'modules')
    .get('/repositories/:name', async ({ ui, params, query }) => {
      const me = signedIn(ui);
      const row = await authorizedRepository(ctx, me.principal, params.name, 'read');
      const q = typeof query.q === 'string' ? query.q.trim() : '';
      const offset = Math.max(0, Number.parseInt(String(query.offset ?? '0'), 10) || 0);
      const after = afterOf(query.after);
      // A group's page lists its members' modules, from the members this viewer may read only.
      const places = row.type === 'group' ? await ctx.search.groupPlaces(row, await readableRepositories(ctx, me.principal)) : null;
      const data = {
        repo: await ctx.repositories.view(row),
        modules: row.type === 'group' ? null : await modules.listModules(row, { prefix: q, offset, limit: DEFAULT_PAGE }),
        groupModules: places ? await ctx.search.search(places, { q, offset, after, limit: DEFAULT_PAGE }) : null,
        // What the setup snippet names for GONOSUMDB: the namespaces owned here, or through the members the viewer may read.
        namespaces: places ? ownedNamespaces(places.map((p) => p.row)) : row.namespaces,
        query: q,
        offset,
        after,
        pageSize: DEFAULT_PAGE,
        canWrite: await may(ctx, me, row, 'write'),
        canAdmin: await may(ctx, me, row, 'admin'),
        tombstones: row.type === 'hosted' ? await tombstones.list(row) : null,
        // Policies are for administrators, as in the API; a group stores nothing to clean.
        cleanup: me.principal.isAdmin && row.type !== 'group' ? await ctx.cleanup.get(row) : null,
      };
      return page(ctx, me, repositoryPage(me, data));
    })
    .get('/repositories/:name/module', async ({ ui, params, query }) => {
      const me = signedIn(ui);
      const row = await authorizedRepository(ctx, me.principal, params.name, 'read');
      const module = typeof query.module === 'string' ? query.module : '';
      if (!module) throw new BadRequest('which module? add ?module= to the address');
      const versions = await modules.listVersions(row, module);
      const cursor = typeof query.cursor === 'string' && query.cursor ? query.cursor : undefined;
      const versionPage = pageOfVersions(versions, { cursor, limit: UI_VERSION_PAGE });
      const wanted = typeof query.version === 'string' ? query.version : typeof query.uploaded === 'string' ? query.uploaded : null;
      const selected = versions.find((v) => v.version === wanted) ?? versions[0] ?? null;
      const goModOf = (version: string) =>
        modules.goMod(row, module, version).then(
          (text) => ({ text }),
          // A missing or oversized go.mod should not take the whole page down with it.
          (err) => ({ problem: toAppError(err).status < 500 ? toAppError(err).message : 'the go.mod could not be read' }),
        );
      const goMod = selected ? await goModOf(selected.version) : null;
      // Retractions and the deprecation are read from the go.mod of @latest (the highest release, else the highest
      // pre-release), as the go command does.
      const newest = selectLatest(versions) ?? versions[0];
      const newestGoMod = newest && newest.version !== selected?.version ? await goModOf(newest.version) : goMod;
      const lifecycle = newestGoMod && 'text' in newestGoMod ? summarizeGoMod(newestGoMod.text) : null;
      const requires = goMod && 'text' in goMod ? summarizeGoMod(goMod.text).requires : [];
      const places = await ctx.search.places(await readableRepositories(ctx, me.principal));
      const held = await ctx.search.holders(
        places,
        requires.map((r) => r.path),
      );
      const retractions = lifecycle?.retractions ?? [];
      const latest = selectLatest(versions.filter((v) => !retractionFor(v.version, retractions)))?.version ?? null;
      // The README of @latest, as a module's home page shows the release people are pointed to.
      const readme = newest
        ? await modules.readme(row, module, newest.version).then(
            (r) => (r ? { ...r, version: newest.version } : null),
            (err) => {
              ctx.log.warn('README could not be read', { err: toAppError(err).message, module, version: newest.version });
              return null;
            },
          )
        : null;
      const canWrite = await may(ctx, me, row, 'write');
      const body = modulePage(me, {
        readme,
        repo: await ctx.repositories.view(row),
        module,
        versionPage,
        cursor,
        selected,
        goMod,
        canWrite,
        latest,
        deprecated: lifecycle?.deprecated ?? null,
        retractions,
        requires: requires.map((r) => ({ ...r, heldIn: held.get(r.path)?.row.name ?? null })),
      });
      return page(ctx, me, body);
    })
    .post('/repositories/:name/versions/delete', async ({ ui, params, form }) => {
      const me = signedIn(ui);
      const row = await authorizedRepository(ctx, me.principal, params.name, 'write');
      const module = str(form, 'module');
      const version = str(form, 'version');
      if (!module || !version) throw new BadRequest('module and version are required');
      await modules.deleteVersion(row, module, version, actor(me));
      const left = await modules.listVersions(row, module).catch(() => []);
      const back = left.length
        ? `/repositories/${encodeURIComponent(row.name)}/module?module=${encodeURIComponent(module)}`
        : `/repositories/${encodeURIComponent(row.name)}`;
      return done(ctx, me, back, `${module}@${version} was ${row.type === 'proxy' ? 'evicted' : 'deleted'}.`);
    })
    .post('/repositories/:name/tombstones/purge', async ({ ui, params, form }) => {
      const me = signedIn(ui);
      ctx.permissions.requireAdmin(me.principal);
      const row = await ctx.repositories.rowByName(params.name);
      const module = str(form, 'module');
      const version = str(form, 'version');
      await tombstones.purge(row, module, version, actor(me));
      return done(ctx, me, `/repositories/${encodeURIComponent(row.name)}`, `The tombstone of ${module}@${version} was purged.`);
    });
}
