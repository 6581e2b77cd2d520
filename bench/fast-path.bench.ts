/**
 * What the server's own code costs per warm answer, without the network (issue 14): the plugin's
 * `goFastPath` called in a loop, in this process, with the access log on (to a temp file, as
 * `batchedStdout` writes stdout) and a peer address given (`requestIP` answers a constant; the real one
 * costs a getpeername(2) per request, measured in the HTTP benches). What is left out is Bun's HTTP: parsing
 * the request, writing the answer, the syscalls. Compare the figure with `bench/warm.bench.ts`'s CPU µs per
 * request to see which part a change can move.
 *
 *   bun bench/fast-path.bench.ts [--rounds=5] [--calls=200000] [--postgres] [--access-log=on|off]
 *
 * Requests: a hosted `.info` (anonymous), a private `.info` with an API token, a remembered 404. Each round runs
 * each request `calls` times, yielding to the event loop every 1024 calls (so that the log's timer and writes
 * run as they would); medians over the rounds.
 */
import { openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../src/log';
import { batchedStdout } from '../src/log-stdout';
import { ADMIN_AUTH, basic } from '../test/support/app';
import { startTestServer } from '../test/support/server';
import { buildModuleZip } from '../test/support/zipbuild';
import { benchArgs } from './support/args';

const args = benchArgs();
const ROUNDS = Number(args.get('rounds') ?? 5);
const CALLS = Number(args.get('calls') ?? 200_000);
const ACCESS_LOG = (args.get('access-log') ?? 'on') === 'on';
process.env.ORBITREPO_TEST_DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/test';

const logFile = join(tmpdir(), `fast-path-bench-${process.pid}.log`);
const server = await startTestServer({
  db: args.has('postgres') ? 'postgres' : 'pglite',
  log: ACCESS_LOG ? createLogger({ format: 'json', destination: batchedStdout(openSync(logFile, 'w')) }) : undefined,
  env: ACCESS_LOG ? {} : { ORBITREPO_ACCESS_LOG: 'false' },
});

async function api(method: string, path: string, body: unknown, auth = ADMIN_AUTH): Promise<any> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

try {
  await api('POST', '/api/v1/repositories', { name: 'hosted', type: 'hosted', anonymousRead: true });
  await api('POST', '/api/v1/repositories', { name: 'private', type: 'hosted', anonymousRead: false });
  await api('POST', '/api/v1/users', { username: 'bench', password: 'bench-password' });
  await api('PUT', '/api/v1/repositories/private/permissions/bench', { role: 'read' });
  const { token } = await api('POST', '/api/v1/tokens', { name: 'bench' }, basic('bench', 'bench-password'));
  for (const [repo, module] of [
    ['hosted', 'example.com/bench/pub'],
    ['private', 'example.com/bench/priv'],
  ]) {
    const zip = buildModuleZip(module, 'v1.0.0', { 'go.mod': `module ${module}\n`, 'x.go': 'package x\n' });
    const res = await fetch(`${server.url}/go/${repo}/${module}/@v/v1.0.0.zip`, {
      method: 'PUT',
      headers: { authorization: ADMIN_AUTH },
      body: zip,
    });
    if (res.status !== 201) throw new Error(`upload ${module}: ${res.status} ${await res.text()}`);
  }

  const fast = server.orbit.goFastPath;
  if (!fast) throw new Error('the plugin has no fast path');
  const peer = { requestIP: () => ({ address: '127.0.0.1', family: 'IPv4', port: 40000 }) };
  const cases = [
    { name: 'hosted .info', status: 200, request: new Request(`${server.url}/go/hosted/example.com/bench/pub/@v/v1.0.0.info`) },
    {
      name: 'private .info, token',
      status: 200,
      request: new Request(`${server.url}/go/private/example.com/bench/priv/@v/v1.0.0.info`, {
        headers: { authorization: basic('bench', token) },
      }),
    },
    { name: '404 (remembered)', status: 404, request: new Request(`${server.url}/go/hosted/example.com/bench/none/@v/v1.0.0.info`) },
  ];
  // The first answer of each fills the caches (and must be what the HTTP benches measure).
  for (const c of cases) {
    const answer = await fast(c.request, peer);
    if (answer?.status !== c.status) throw new Error(`${c.name}: ${answer?.status}, expected ${c.status}`);
  }
  const samples = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of cases) {
      let wrong = 0;
      const started = performance.now();
      for (let i = 0; i < CALLS; i++) {
        const pending = fast(c.request, peer);
        const answer = pending instanceof Response ? pending : await pending;
        if (answer?.status !== c.status) wrong++;
        if ((i & 1023) === 0) await Bun.sleep(0);
      }
      if (wrong > 0) throw new Error(`${c.name}: ${wrong} answers were not ${c.status}`);
      samples.get(c.name)!.push(((performance.now() - started) * 1000) / CALLS);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`| request | µs per call, median of ${ROUNDS} (range) |\n|---|---:|`);
  for (const [name, xs] of samples) {
    console.log(`| ${name} | ${median(xs).toFixed(2)} (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}) |`);
  }
  console.log(
    `access log ${ACCESS_LOG ? 'on' : 'off'}, ${CALLS} calls a round, load ${(await Bun.file('/proc/loadavg').text()).split(' ')[0]}`,
  );
} finally {
  await server.stop();
  rmSync(logFile, { force: true });
}
