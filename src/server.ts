import { Elysia } from 'elysia';
import { join } from 'node:path';
import type { Config } from './config';
import { openDatabase, type DatabaseHandle } from './db/open';
import { consoleLogger, type Logger } from './log';
import { createOrbitRepos, type OrbitRepos } from './plugin';
import type { BlobStore } from './storage/blob-store';
import { openBlobStore } from './storage/open';

export interface RunningServer {
  url: string;
  port: number;
  orbit: OrbitRepos;
  database: DatabaseHandle;
  storage: BlobStore;
  stop(): Promise<void>;
}

/** Opens what the config names, mounts the plugin on a bare Elysia app, and listens. */
export async function startServer(config: Config, log: Logger = consoleLogger()): Promise<RunningServer> {
  const database = await openDatabase({ url: config.databaseUrl, dataDir: config.databaseUrl ? undefined : join(config.dataDir, 'db') });
  const storage = await openBlobStore(config.storage);
  const orbit = await createOrbitRepos({
    database,
    storage,
    log,
    settings: { adminPassword: config.adminPasswordIsDefault ? undefined : config.adminPassword, publicUrl: config.publicUrl, secureCookies: !!config.tls },
  });
  const app = new Elysia().use(orbit.plugin);
  const tls = config.tls ? { cert: Bun.file(config.tls.certFile), key: Bun.file(config.tls.keyFile) } : undefined;
  app.listen({ hostname: config.host, port: config.port, tls, maxRequestBodySize: 600 * 1024 * 1024, idleTimeout: 255 });
  const server = app.server!;
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  const url = `${tls ? 'https' : 'http'}://${shownHost}:${server.port}`;
  return {
    url,
    port: server.port!,
    orbit,
    database,
    storage,
    async stop() {
      await app.stop(true);
      await database.close();
    },
  };
}
