import { ConfigError, loadConfig } from './config';
import { createLogger } from './log';
import { requestLogContext } from './observability/request-scope';
import { PortInUse, startServer } from './server';

// The standalone server: the only file with process side effects.
let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`configuration error: ${err.message}`);
    process.exit(2);
  }
  throw err;
}

const log = createLogger({ level: config.logLevel, format: config.logFormat, context: requestLogContext });
let running: Awaited<ReturnType<typeof startServer>>;
try {
  running = await startServer(config, log);
} catch (err) {
  if (err instanceof PortInUse) {
    console.error(`cannot start: ${err.message}`);
    process.exit(1);
  }
  throw err;
}
log.info(`OrbitRepos listening on ${running.url}`, {
  database: config.databaseUrl ? 'postgresql (ORBITREPO_DATABASE_URL)' : `embedded PGlite at ${config.dataDir}/db`,
  storage: config.storage.type === 's3' ? `s3 bucket ${config.storage.s3?.bucket}` : `filesystem at ${config.storage.path}`,
  goproxy: `${running.url}/go/{repository}/`,
  swagger: `${running.url}/swagger`,
});

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    log.info(`received ${signal}, stopping`);
    await running.stop();
    process.exit(0);
  });
}
