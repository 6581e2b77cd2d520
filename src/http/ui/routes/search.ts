import type { AppContext } from '../../../context';
import { DEFAULT_PAGE } from '../../../repos/module-service';
import { readableRepositories } from '../../repository-access';
import { page, signedIn, uiController } from '../controller';
import { searchPage } from '../pages/search';

/** The services these routes use, and no more. */
export type SearchUiDeps = Pick<AppContext, 'id' | 'log' | 'permissions' | 'repositories' | 'search' | 'sessions' | 'settings' | 'users'>;

/** Longer queries are cut: no module path is this long, and the query travels into SQL. */
export const MAX_QUERY = 200;

export function queryOf(value: unknown): string {
  return typeof value === 'string' ? value.trim().slice(0, MAX_QUERY) : '';
}

/** Browsing's keyset cursor: a module path (no module path is longer than this). */
export function afterOf(value: unknown): string | undefined {
  return typeof value === 'string' && value ? value.slice(0, 1024) : undefined;
}

export function offsetOf(value: unknown): number {
  return Math.max(0, Number.parseInt(String(value ?? '0'), 10) || 0);
}

/** /search: module paths across every repository the viewer may read (the header's search box). */
export function searchUiRoutes(ctx: SearchUiDeps, prefix: string) {
  return uiController(ctx, prefix, 'search').get('/search', async ({ ui, query }) => {
    const me = signedIn(ui);
    const q = queryOf(query.q);
    const offset = offsetOf(query.offset);
    const after = afterOf(query.after);
    const places = await ctx.search.places(await readableRepositories(ctx, me.principal));
    const result = await ctx.search.search(places, { q, offset, after, limit: DEFAULT_PAGE });
    return page(ctx, me, searchPage(me, { query: q, result, offset, after, pageSize: DEFAULT_PAGE }));
  });
}
