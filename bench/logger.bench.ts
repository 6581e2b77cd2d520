/**
 * The cost of one access-log line: the first logger (redact + JSON.stringify + one console.log per
 * line) against today's createLogger (redact + its own JSON line in pino's format, handed on in 64 KiB batches to
 * its asynchronous stdout destination, src/log-stdout.ts), both writing JSON lines to stdout. The destination writes off the
 * loop (which never yields), so createLogger's figure is the cost of making and buffering a line: what a request
 * pays. Each round's destination holds at most 64 MiB unwritten (about 200,000 lines of ~325 bytes);
 * past that it drops lines, so keep `lines` at or below the default. Send stdout away; the figures go to stderr:
 *
 *   bun bench/logger.bench.ts [lines] > /dev/null
 */
import { createLogger, type LogFields, redact, redactFields } from '../src/log';

const lines = Number(process.argv[2] ?? 200_000);

/** The first logger, verbatim in what it did per line. */
function firstLogger() {
  return {
    info(message: string, fields?: LogFields) {
      const line = { time: new Date().toISOString(), level: 'info', msg: redact(message), ...(fields ? redactFields(fields) : {}) };
      console.log(JSON.stringify(line));
    },
  };
}

const fields = (i: number): LogFields => ({
  requestId: '3b67af96-cdb3-49ec-9e93-be9b6a72376f',
  method: 'GET',
  path: `/go/go-all/github.com/example/module${i % 100}/@v/v1.2.${i % 10}.zip`,
  kind: 'zip',
  repository: 'go-all',
  status: 200,
  bytes: 123456,
  durationMs: 1.7,
  cache: 'hit',
  user: 'ci-bot',
  client: '10.1.2.3',
});

function run(name: string, log: { info(m: string, f?: LogFields): void }): number {
  for (let i = 0; i < 2_000; i++) log.info('request', fields(i)); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < lines; i++) log.info('request', fields(i));
  const ns = ((performance.now() - t0) * 1e6) / lines;
  console.error(`${name.padEnd(28)} ${ns.toFixed(0).padStart(6)} ns/line`);
  return ns;
}

// Alternate the two, three rounds each, so that a busy neighbour on the machine hits both alike.
const first: number[] = [];
const current: number[] = [];
for (let round = 0; round < 3; round++) {
  first.push(run('first logger (console.log)', firstLogger()));
  current.push(run('createLogger (batched)', createLogger({ format: 'json' })));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1];
console.error(`createLogger / first: ${(median(current) / median(first)).toFixed(2)} (median of 3 rounds, ${lines} lines each)`);
