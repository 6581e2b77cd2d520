import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import type { LogFields, Logger } from '../../src/log';
import { ADMIN_AUTH, startTestApp, type TestApp } from '../support/app';
import { HANG_LIMIT_MS } from '../support/limits';
import { type StubUpstream, startStubUpstream } from '../support/stub-upstream';
import { buildModuleZip } from '../support/zipbuild';

/**
 * Upstream answers by what they mean, as the server logs and serves them: a refusal is an answer (info,
 * a 403 with the upstream's reason, through a group too), an outage is said once per repository per minute
 * (warn), a query .info is short-lived, and a version's time is its upstream .info's, not when it was fetched.
 */
interface Line {
  level: 'info' | 'warn' | 'error';
  message: string;
  fields: LogFields;
}

function capturingLogger(lines: Line[]): Logger {
  const at =
    (level: Line['level']) =>
    (message: string, fields: LogFields = {}) =>
      lines.push({ level, message, fields });
  return { info: at('info'), warn: at('warn'), error: at('error') };
}

describe('upstream answers by their meaning', () => {
  let t: TestApp;
  let stub: StubUpstream;
  const lines: Line[] = [];
  let n = 0;
  const fresh = (version = 'v1.0.0') => {
    const module = `example.com/meaning/m${++n}`;
    stub.addModule(module, version, { time: '2021-06-07T08:09:10Z' });
    return { module, version, p: stub.paths(module, version) };
  };
  const get = (path: string) => t.request(path, { auth: ADMIN_AUTH });

  beforeAll(async () => {
    stub = await startStubUpstream();
    t = await startTestApp({ log: capturingLogger(lines) });
    for (const body of [
      { name: 'go-proxy', type: 'proxy', remoteUrl: stub.url, settings: { connectTimeoutMs: 200, responseTimeoutMs: 300 } },
      { name: 'go-hosted', type: 'hosted' },
      { name: 'go-all', type: 'group', members: ['go-hosted', 'go-proxy'] },
    ]) {
      expect((await t.api('POST', '/repositories', body)).status).toBe(201);
    }
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await t?.close();
    await stub?.close();
  });
  beforeEach(() => {
    lines.length = 0;
  });

  test('an upstream refusal is a 403 with its reason, logged at info, through the proxy and through a group', async () => {
    const { module, p } = fresh();
    stub.fault(p.list, { kind: 'status', status: 403, body: 'This module version is not available.' });
    for (const repo of ['go-proxy', 'go-all']) {
      const res = await get(`/go/${repo}/${module}/@v/list`);
      expect(res.status).toBe(403);
      expect(await res.text()).toContain('answered 403: This module version is not available.');
    }
    expect(lines.filter((l) => l.level !== 'info')).toEqual([]);
    expect(lines.filter((l) => l.message === 'upstream refused').map((l) => l.fields.repository)).toEqual(['go-proxy', 'go-all']);
  });

  test("a group's list leaves a refusing member out and keeps what the others answered", async () => {
    const module = `example.com/meaning/shared${++n}`;
    stub.fault(stub.paths(module).list, { kind: 'status', status: 403 });
    const zip = buildModuleZip(module, 'v1.0.0', { 'go.mod': `module ${module}\n` });
    expect(
      (await t.request(`/go/go-hosted/${module}/@v/v1.0.0.zip`, { method: 'PUT', auth: ADMIN_AUTH, body: new Uint8Array(zip) })).status,
    ).toBe(201);
    const res = await get(`/go/go-all/${module}/@v/list`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('v1.0.0\n');
  });

  test('an upstream outage fails every request but is logged once per repository per minute, at warn', async () => {
    const { module, p } = fresh();
    stub.fault(p.info, { kind: 'status', status: 500 });
    for (let i = 0; i < 5; i++) expect((await get(`/go/go-proxy/${module}/@v/v1.0.0.info`)).status).toBe(502);
    const outages = lines.filter((l) => l.message === 'upstream outage');
    expect(outages.map((l) => [l.level, l.fields.repository])).toEqual([['warn', 'go-proxy']]);
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);
  });

  test('a query .info (not a canonical version) is short-lived; a version .info is immutable', async () => {
    const { module, p } = fresh();
    stub.setFile(p.info.replace('v1.0.0.info', 'master.info'), '{"Version":"v1.0.0","Time":"2021-06-07T08:09:10Z"}');
    const query = await get(`/go/go-proxy/${module}/@v/master.info`);
    expect(query.status).toBe(200);
    expect(query.headers.get('cache-control')).not.toContain('immutable');
    expect(query.headers.get('cache-control')).toMatch(/max-age=60\b/);
    const version = await get(`/go/go-proxy/${module}/@v/v1.0.0.info`);
    expect(version.headers.get('cache-control')).toContain('immutable');
  });

  test("a version cached from its .mod alone shows the upstream .info's time in the admin API, not the fetch time", async () => {
    const { module, p } = fresh();
    expect((await get(`/go/go-proxy/${module}/@v/v1.0.0.mod`)).status).toBe(200);
    expect(stub.count(p.info)).toBe(0);
    // The .mod is answered once checked; its row is written right after.
    await t.ctx.coalescer.settled();
    const res = await t.api('GET', `/repositories/go-proxy/modules/versions?module=${encodeURIComponent(module)}`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(JSON.stringify(body)).toContain('"time":"2021-06-07T08:09:10.000Z"');
    expect(stub.count(p.info)).toBe(1);
  });
});
