import { Elysia } from 'elysia';
import { createContext, type AppContext, type PluginSettings } from './context';
import type { DatabaseHandle } from './db/open';
import { openApiRoutes } from './http/admin/openapi';
import { repositoryRoutes } from './http/admin/repositories';
import { goRoutes } from './http/go-routes';
import { healthRoutes } from './http/health';
import { consoleLogger, type Logger } from './log';
import type { BlobStore } from './storage/blob-store';

export interface OrbitReposOptions {
  /** An open database (see openDatabase); the plugin never closes it. */
  database: DatabaseHandle;
  /** A blob store (see openBlobStore). */
  storage: BlobStore;
  settings?: PluginSettings;
  /** Default: JSON lines on stdout/stderr. */
  log?: Logger;
  /** Mount prefix for every route, e.g. "/artifacts"; empty: the root. */
  prefix?: string;
  /** Each part can be switched off; all default to on. */
  goRoutes?: boolean;
  adminApi?: boolean;
  swagger?: boolean;
  ui?: boolean;
  health?: boolean;
}

export interface OrbitRepos {
  /** The Elysia plugin: `hostApp.use(orbit.plugin)`. */
  plugin: Elysia<any, any, any, any, any, any, any>;
  /** The services behind it, for hosts that want to call them directly. */
  context: AppContext;
}

function normalisePrefix(prefix: string | undefined): string {
  if (!prefix || prefix === '/') return '';
  return `/${prefix.replace(/^\/+|\/+$/g, '')}`;
}

/**
 * Builds the OrbitRepos Elysia plugin over the given database and storage. Opens no port and installs
 * no process handlers: the host app owns its lifecycle. Makes the bootstrap admin user on first use.
 */
export async function createOrbitRepos(opts: OrbitReposOptions): Promise<OrbitRepos> {
  const prefix = normalisePrefix(opts.prefix);
  const log = opts.log ?? consoleLogger();
  const ctx = createContext({ database: opts.database, storage: opts.storage, log, settings: opts.settings });
  await ctx.users.ensureBootstrapAdmin(opts.settings?.adminPassword || 'admin', !opts.settings?.adminPassword);

  const on = (flag: boolean | undefined) => flag !== false;
  let app = new Elysia({ name: 'orbitrepos', seed: ctx.id, prefix });
  if (on(opts.health)) app = app.use(healthRoutes(ctx));
  if (on(opts.goRoutes)) app = app.use(goRoutes(ctx));
  if (on(opts.adminApi)) {
    app = app.use(repositoryRoutes(ctx));
    if (on(opts.swagger)) app = app.use(openApiRoutes(ctx, prefix));
  }
  return { plugin: app, context: ctx };
}

/** Shorthand for hosts: `app.use(await orbitRepos({ database, storage }))`. */
export async function orbitRepos(opts: OrbitReposOptions) {
  return (await createOrbitRepos(opts)).plugin;
}

export type { PluginSettings, AppContext } from './context';
export type { DatabaseHandle, Database } from './db/open';
export { openDatabase } from './db/open';
export type { BlobStore } from './storage/blob-store';
export type { Logger } from './log';
export type { GoRepository } from './repos/repository';
