import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Elysia } from 'elysia';
import type { AppContext } from '../../src/context';
import { silentLogger } from '../../src/log';
import { createOrbitRepos, type OrbitReposOptions } from '../../src/plugin';
import type { BlobStore } from '../../src/storage/blob-store';
import { FsBlobStore } from '../../src/storage/fs-blob-store';
import { openTestDatabase, type TestDatabase, type TestDatabaseKind } from './db';

export const ADMIN_PASSWORD = 'admin-test-pw';

export function basic(username: string, secret: string): string {
  return `Basic ${Buffer.from(`${username}:${secret}`).toString('base64')}`;
}

export const ADMIN_AUTH = basic('admin', ADMIN_PASSWORD);

export interface TestApp {
  app: Elysia<any, any, any, any, any, any, any>;
  ctx: AppContext;
  db: TestDatabase;
  storage: BlobStore;
  /** app.handle on a path relative to the mount prefix; headers merged. */
  request(path: string, init?: RequestInit & { auth?: string | null }): Promise<Response>;
  /** JSON admin API call as the admin unless auth is given. */
  api(method: string, path: string, body?: unknown, auth?: string | null): Promise<Response>;
  close(): Promise<void>;
}

/** The plugin over a throwaway database and a temp filesystem store, driven through app.handle (no port). */
export async function startTestApp(
  opts: { db?: TestDatabaseKind; storage?: BlobStore; prefix?: string } & Partial<Omit<OrbitReposOptions, 'database' | 'storage'>> = {},
): Promise<TestApp> {
  const db = await openTestDatabase(opts.db ?? 'pglite');
  let dir: string | undefined;
  let storage = opts.storage;
  if (!storage) {
    dir = mkdtempSync(join(tmpdir(), 'orbit-store-'));
    storage = new FsBlobStore(dir);
  }
  const orbit = await createOrbitRepos({
    log: silentLogger,
    ...opts,
    database: db.handle,
    storage,
    settings: { adminPassword: ADMIN_PASSWORD, ...opts.settings },
  });
  const app = new Elysia().use(orbit.plugin);
  const prefix = opts.prefix ?? '';
  const request = (path: string, init: RequestInit & { auth?: string | null } = {}) => {
    const headers = new Headers(init.headers);
    if (init.auth) headers.set('authorization', init.auth);
    return app.handle(new Request(`http://orbit.test${prefix}${path}`, { ...init, headers }));
  };
  return {
    app,
    ctx: orbit.context,
    db,
    storage,
    request,
    api(method, path, body, auth = ADMIN_AUTH) {
      return request(`/api/v1${path}`, {
        method,
        auth,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    },
    async close() {
      await db.cleanup();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
