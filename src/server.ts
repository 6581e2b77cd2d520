import { Elysia } from 'elysia';
import type { Config } from './config';
import { consoleLogger, type Logger } from './log';
import { createOrbitRepos, type OrbitRepos } from './plugin';

/** One year, the usual value once HTTPS is the only way in. */
export const HSTS = 'max-age=31536000';

export interface RunningServer {
  url: string;
  port: number;
  orbit: OrbitRepos;
  stop(): Promise<void>;
}

/** The standalone server: the plugin, opened from config, on a bare Elysia app that listens. */
export async function startServer(config: Config, log: Logger = consoleLogger()): Promise<RunningServer> {
  const orbit = await createOrbitRepos({ config, log });
  let app = new Elysia();
  // Under TLS every answer, errors and unknown paths included, tells browsers to come back only over HTTPS.
  // No includeSubDomains or preload: this server cannot speak for the rest of its domain.
  if (config.tls) app = app.onRequest(({ set }) => void (set.headers['strict-transport-security'] = HSTS));
  app = app.use(orbit.plugin);
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
