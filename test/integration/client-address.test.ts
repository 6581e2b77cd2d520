import { afterAll, beforeAll, expect, test } from 'bun:test';
import { createLogger } from '../../src/log';
import { requestLogContext } from '../../src/observability/request-scope';
import { ADMIN_AUTH, basic } from '../support/app';
import { memoryLog } from '../support/metrics';
import { startTestServer, type TestServer } from '../support/server';
import { buildModuleZip } from '../support/zipbuild';

// The peer's address costs Bun a getpeername(2) on every read. With an access log it is read once, when the
// request arrives (the line names it, and a client gone by the end of a slow request has none left); without
// one, only when something needs it: a failed sign-in's throttling and log, an upload's audit entry.
const MOD = 'example.com/client/address';
const PEER = '203.0.113.9';
const logged = memoryLog();
const silent = memoryLog();
let withLog: TestServer;
let withoutLog: TestServer;

/** A server stand-in that counts how often the peer's address is read. */
function countingPeer() {
  const peer = { reads: 0, requestIP: (_: Request) => (peer.reads++, { address: PEER, family: 'IPv4', port: 40000 }) };
  return peer;
}

async function publish(server: TestServer): Promise<void> {
  const res = await fetch(`${server.url}/api/v1/repositories`, {
    method: 'POST',
    headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'pub', type: 'hosted', anonymousRead: true }),
  });
  expect(res.status).toBe(201);
  const zip = buildModuleZip(MOD, 'v1.0.0', { 'go.mod': `module ${MOD}\n`, 'x.go': 'package x\n' }) as Uint8Array<ArrayBuffer>;
  const put = await fetch(`${server.url}/go/pub/${MOD}/@v/v1.0.0.zip`, {
    method: 'PUT',
    headers: { authorization: ADMIN_AUTH },
    body: zip,
  });
  expect(put.status).toBe(201);
}

beforeAll(async () => {
  withLog = await startTestServer({ log: createLogger({ format: 'json', destination: logged.destination, context: requestLogContext }) });
  withoutLog = await startTestServer({
    log: createLogger({ format: 'json', destination: silent.destination, context: requestLogContext }),
    env: { ORBITREPO_ACCESS_LOG: 'false' },
  });
  await publish(withLog);
  await publish(withoutLog);
}, 180_000);
afterAll(async () => {
  await withLog?.stop();
  await withoutLog?.stop();
});

const info = `/go/pub/${MOD}/@v/v1.0.0.info`;
const ask = async (server: TestServer, peer: ReturnType<typeof countingPeer>, init?: RequestInit) => {
  const answer = server.orbit.goFastPath!(new Request(`http://orbit.test${info}`, init), peer);
  return (await answer)!;
};

test('with the access log on, the peer is read once per request and the line names it', async () => {
  const peer = countingPeer();
  logged.raw.length = 0;
  for (let i = 0; i < 3; i++) expect((await ask(withLog, peer)).status).toBe(200);
  expect(peer.reads).toBe(3);
  const lines = logged.requests();
  expect(lines).toHaveLength(3);
  for (const line of lines) expect(line.client).toBe(PEER);
});

test('without an access log, a warm answer never reads the peer', async () => {
  const peer = countingPeer();
  expect((await ask(withoutLog, peer)).status).toBe(200);
  for (let i = 0; i < 5; i++) expect((await ask(withoutLog, peer)).status).toBe(200);
  // A known token too: its principal is settled from memory, with no address asked.
  const token = await (
    await fetch(`${withoutLog.url}/api/v1/tokens`, {
      method: 'POST',
      headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'reader' }),
    })
  ).json();
  const auth = { headers: { authorization: basic('admin', token.token) } };
  expect((await ask(withoutLog, peer, auth)).status).toBe(200);
  const before = peer.reads;
  expect((await ask(withoutLog, peer, auth)).status).toBe(200);
  expect(peer.reads).toBe(before);
  expect(silent.requests()).toHaveLength(0);
});

test('without an access log, a failed sign-in still reads the peer: it is throttled and logged under that address', async () => {
  const peer = countingPeer();
  silent.raw.length = 0;
  const wrong = { headers: { authorization: basic('admin', 'not-the-password') } };
  const res = await ask(withoutLog, peer, wrong);
  expect(res.status).toBe(401);
  expect(peer.reads).toBeGreaterThan(0);
  const warning = silent.lines.find((l) => l.msg === 'sign-in failed');
  expect(warning?.clientAddress).toBe(PEER);
});

test("without an access log, an upload's audit entry still names the client", async () => {
  const zip = buildModuleZip(MOD, 'v1.1.0', { 'go.mod': `module ${MOD}\n`, 'x.go': 'package x\n' }) as Uint8Array<ArrayBuffer>;
  // Over HTTP: the address is the real peer's, read while the upload is served.
  const put = await fetch(`${withoutLog.url}/go/pub/${MOD}/@v/v1.1.0.zip`, {
    method: 'PUT',
    headers: { authorization: ADMIN_AUTH },
    body: zip,
  });
  expect(put.status).toBe(201);
  const page = await (
    await fetch(`${withoutLog.url}/api/v1/audit?action=module.publish`, { headers: { authorization: ADMIN_AUTH } })
  ).json();
  const entry = (page.entries as { clientAddress: string | null; target: string | null }[]).find((e) => e.target === `${MOD}@v1.1.0`);
  expect(entry?.clientAddress).toBe('127.0.0.1');
});
