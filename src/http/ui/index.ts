import { Elysia } from 'elysia';
import type { AppContext } from '../../context';
import { assetRoutes } from './assets';
import { auditUiRoutes } from './routes/audit';
import { loginRoutes, sessionRoutes } from './routes/auth';
import { cleanupUiRoutes } from './routes/cleanup';
import { moduleUiRoutes } from './routes/modules';
import { repositoryUiRoutes } from './routes/repositories';
import { searchUiRoutes } from './routes/search';
import { tokenUiRoutes } from './routes/tokens';
import { userUiRoutes } from './routes/users';

/** The services these routes use, and no more. */
export type UiDeps = Pick<
  AppContext,
  | 'audit'
  | 'auth'
  | 'cleanup'
  | 'id'
  | 'log'
  | 'modules'
  | 'permissions'
  | 'repositories'
  | 'search'
  | 'sessions'
  | 'settings'
  | 'tokens'
  | 'users'
  | 'tombstones'
>;

/**
 * The web UI at {prefix}/: server-rendered pages over the same services the admin API uses, one CSS and
 * one JS file served from here. `prefix` is the plugin's mount prefix, needed for links and the cookie path.
 */
export function uiRoutes(ctx: UiDeps, prefix: string) {
  return new Elysia({ name: 'orbitrepos.ui', seed: ctx.id })
    .use(assetRoutes(ctx))
    .use(loginRoutes(ctx, prefix))
    .use(sessionRoutes(ctx, prefix))
    .use(repositoryUiRoutes(ctx, prefix))
    .use(moduleUiRoutes(ctx, prefix))
    .use(cleanupUiRoutes(ctx, prefix))
    .use(searchUiRoutes(ctx, prefix))
    .use(tokenUiRoutes(ctx, prefix))
    .use(userUiRoutes(ctx, prefix))
    .use(auditUiRoutes(ctx, prefix));
}
