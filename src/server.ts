import type { Server } from 'bun';
import { Elysia } from 'elysia';
import type { Config } from './config';
import { createLogger, type Logger } from './log';
import { requestLogContext } from './observability/request-scope';
import { createOrbitRepos, type OrbitRepos, type OrbitReposOptions } from './plugin';

/**
 * The largest body the server takes at all: a 500 MiB module zip and room to spare. Every route bounds
 * its own bodies far lower (1 MiB for the admin API and UI forms, 500 MiB for a zip upload).
 */
export const MAX_REQUEST_BODY_BYTES = 600 * 1024 * 1024;

/** One year, the usual value once HTTPS is the only way in. */
export const HSTS = 'max-age=31536000';

export interface RunningServer {
  url: string;
  port: number;
  orbit: OrbitRepos;
  stop(): Promise<void>;
}

/** Start-up stopped because another process holds the port; the message is the one line to print. */
export class PortInUse extends Error {
  constructor(host: string, port: number) {
    super(
      `port ${port} on ${host} is already in use by another process: stop it, choose another ORBITREPO_PORT, ` +
        'or set ORBITREPO_REUSE_PORT=true to share the port on purpose',
    );
    this.name = 'PortInUse';
  }
}

const isAddressInUse = (err: unknown) => (err as { code?: unknown })?.code === 'EADDRINUSE';

/**
 * Fails fast, before the database is opened, when the port is taken: a second server over the same
 * embedded database directory must not even start. listen() below still decides a race.
 */
function ensurePortFree(host: string, port: number): void {
  if (port === 0) return;
  try {
    Bun.listen({ hostname: host, port, socket: { data() {} } }).stop(true);
  } catch (err) {
    if (isAddressInUse(err)) throw new PortInUse(host, port);
    throw err;
  }
}

function withHsts(response: Response): Response {
  response.headers.set('strict-transport-security', HSTS);
  return response;
}

/**
 * What Bun answers for a response it could not send as built: a file body (src/http/file-response.ts) whose
 * blob was removed between its stat and the send (the blob collector, after the version's delete), or an
 * error nothing else caught. One plain line, never Bun's page with a stack trace and storage paths; the
 * process goes on. Bun calls this before the status line went out.
 */
function unsentAnswer(log: Logger, tls: boolean) {
  return (err: Error): Response => {
    const gone = (err as NodeJS.ErrnoException).code === 'ENOENT';
    log.warn(gone ? 'a stored file was removed while it was being sent; the client was told to retry' : 'a response could not be sent', {
      err,
    });
    const headers: Record<string, string> = { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' };
    if (tls) headers['Strict-Transport-Security'] = HSTS;
    if (gone) headers['Retry-After'] = '1';
    const text = gone ? 'the file was removed while it was being sent; try again\n' : 'internal server error\n';
    return new Response(text, { status: gone ? 503 : 500, headers });
  };
}

/** The standalone server: the plugin, opened from config, on a bare Elysia app that listens. */
export async function startServer(
  config: Config,
  log: Logger = createLogger({ level: config.logLevel, format: config.logFormat, context: requestLogContext }),
  /** storage: a store of the caller's instead of the one config names (a test's, that fails on purpose). */
  opts: Pick<OrbitReposOptions, 'storage'> = {},
): Promise<RunningServer> {
  if (!config.reusePort) ensurePortFree(config.host, config.port);
  const orbit = await createOrbitRepos({ config, log, storage: opts.storage });
  // Hooks mutate the app; they are added before the plugin so that they run for every route.
  // GET/HEAD /go/… first through the fast path (a Bun route, ahead of Elysia's lifecycle); everything it
  // declines, and every other path, goes through the app and its hooks below.
  const fast = orbit.goFastPath;
  const error = unsentAnswer(log, Boolean(config.tls));
  const app: Elysia<any, any, any, any, any, any, any> = new Elysia({
    serve: fast
      ? {
          error,
          routes: {
            '/go/*': (request: Request, server: Server<unknown>) => {
              const answer = fast(request, server);
              if (!answer) return app.fetch(request);
              if (!config.tls) return answer;
              return answer instanceof Response ? withHsts(answer) : answer.then(withHsts);
            },
          },
        }
      : { error },
  });
  // Under TLS every answer, errors and unknown paths included, tells browsers to come back only over HTTPS.
  // No includeSubDomains or preload: this server cannot speak for the rest of its domain.
  if (config.tls) app.onRequest(({ set }) => void (set.headers['strict-transport-security'] = HSTS));
  // A declared body over the server's limit is answered here with the limit named. Bun's own check, which
  // answers a bare 413 with no reason, sits higher and catches only what slipped past (a chunked body
  // on a route that reads without a limit, of which there should be none).
  app.onRequest(({ request, set }) => {
    const declared = Number(request.headers.get('content-length') ?? 0);
    if (declared > MAX_REQUEST_BODY_BYTES) {
      set.status = 413;
      set.headers['content-type'] = 'text/plain; charset=utf-8';
      set.headers['cache-control'] = 'no-store';
      set.headers.connection = 'close';
      return `the request body is larger than the ${MAX_REQUEST_BODY_BYTES / 1024 / 1024} MiB limit of this server\n`;
    }
  });
  app.use(orbit.plugin);
  const tls = config.tls ? { cert: Bun.file(config.tls.certFile), key: Bun.file(config.tls.keyFile) } : undefined;
  try {
    // Elysia turns SO_REUSEPORT on unless told otherwise; with it a second server on the port would
    // start and quietly take half the requests.
    app.listen({
      hostname: config.host,
      port: config.port,
      tls,
      reusePort: config.reusePort,
      maxRequestBodySize: 2 * MAX_REQUEST_BODY_BYTES,
      idleTimeout: 255,
    });
  } catch (err) {
    await orbit.close();
    throw isAddressInUse(err) ? new PortInUse(config.host, config.port) : err;
  }
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
