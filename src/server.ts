import { Elysia } from 'elysia';
import type { Config } from './config';
import { consoleLogger, type Logger } from './log';
import { createOrbitRepos, type OrbitRepos } from './plugin';

export interface RunningServer {
  url: string;
  port: number;
  orbit: OrbitRepos;
  stop(): Promise<void>;
}

/** The standalone server: the plugin, opened from config, on a bare Elysia app that listens. */
export async function startServer(config: Config, log: Logger = consoleLogger()): Promise<RunningServer> {
  const orbit = await createOrbitRepos({ config, log });
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
    async stop() {
      await app.stop(true);
      await orbit.close();
    },
  };
}
