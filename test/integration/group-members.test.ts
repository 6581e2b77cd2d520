import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { ADMIN_AUTH, startTestApp, type TestApp } from '../support/app';
import { testDatabaseKinds } from '../support/db';
import { HANG_LIMIT_MS } from '../support/limits';
import { type StubUpstream, startStubUpstream } from '../support/stub-upstream';
import { buildModuleZip } from '../support/zipbuild';

/** A group over real members: two hosted repositories and a proxy whose upstream is a loopback stub. */
const PRIVATE = 'corp.example/private';
const SHARED = 'example.org/shared';
const PUBLIC = 'example.org/public';

describe.each(testDatabaseKinds())('a group over hosted and proxy members on %s', (dbKind) => {
  let t: TestApp;
  let stub: StubUpstream;
  const get = (path: string, init: RequestInit = {}) => t.request(path, { ...init, auth: ADMIN_AUTH });
  const publish = async (repo: string, module: string, version: string) => {
    // Copied into a plain ArrayBuffer-backed array, which is what fetch bodies and toEqual are typed for.
    const zip = new Uint8Array(
      buildModuleZip(module, version, {
        'go.mod': `module ${module}\n\ngo 1.21\n`,
        'x.go': `package x\n\nconst V = "${version} from ${repo}"\n`,
      }),
    );
    const res = await t.request(`/go/${repo}/${module}/@v/${version}.zip`, { method: 'PUT', auth: ADMIN_AUTH, body: zip });
    expect(res.status).toBe(201);
    return zip;
  };

  // PGlite start and migrations alone can take seconds on a busy machine; hooks get only 5 s by default.
  beforeAll(async () => {
    stub = await startStubUpstream();
    t = await startTestApp({ db: dbKind });
    for (const body of [
      { name: 'go-internal', type: 'hosted' },
      { name: 'go-team', type: 'hosted' },
      // Short timeouts so that the hanging-upstream case ends quickly; no retries to wait through.
      { name: 'go-proxy', type: 'proxy', remoteUrl: stub.url, settings: { connectTimeoutMs: 500, responseTimeoutMs: 500 } },
      { name: 'go-all', type: 'group', members: ['go-internal', 'go-team', 'go-proxy'] },
    ]) {
      expect((await t.api('POST', '/repositories', body)).status).toBe(201);
    }
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await t?.close();
    await stub?.close();
  });

  test('versions published to two hosted members are merged, and each is served by the member that has it', async () => {
    const zip100 = await publish('go-internal', PRIVATE, 'v1.0.0');
    const zip110 = await publish('go-team', PRIVATE, 'v1.1.0');
    expect(await (await get(`/go/go-all/${PRIVATE}/@v/list`)).text()).toBe('v1.0.0\nv1.1.0\n');
    expect((await (await get(`/go/go-all/${PRIVATE}/@latest`)).json()).Version).toBe('v1.1.0');
    expect(new Uint8Array(await (await get(`/go/go-all/${PRIVATE}/@v/v1.0.0.zip`)).arrayBuffer())).toEqual(zip100);
    const zip = await get(`/go/go-all/${PRIVATE}/@v/v1.1.0.zip`);
    expect(new Uint8Array(await zip.arrayBuffer())).toEqual(zip110);
    // The member's validator and ranges pass through the group unchanged.
    const etag = zip.headers.get('etag')!;
    expect((await get(`/go/go-all/${PRIVATE}/@v/v1.1.0.zip`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    const part = await get(`/go/go-all/${PRIVATE}/@v/v1.1.0.zip`, { headers: { range: 'bytes=0-3' } });
    expect(part.status).toBe(206);
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(zip110.subarray(0, 4));
    expect(await (await get(`/go/go-all/${PRIVATE}/@v/v1.0.0.mod`)).text()).toBe(`module ${PRIVATE}\n\ngo 1.21\n`);
  });

  test('a module from the proxy member and the hosted members comes through one endpoint', async () => {
    const zip = new Uint8Array(stub.addModule(PUBLIC, 'v1.2.0'));
    const info = await get(`/go/go-all/${PUBLIC}/@v/v1.2.0.info`);
    expect(info.status).toBe(200);
    expect((await info.json()).Version).toBe('v1.2.0');
    expect(new Uint8Array(await (await get(`/go/go-all/${PUBLIC}/@v/v1.2.0.zip`)).arrayBuffer())).toEqual(zip);
    expect(await (await get(`/go/go-all/${PUBLIC}/@v/list`)).text()).toBe('v1.2.0\n');
  });

  test('the same module with different versions in a hosted and the proxy member lists as one', async () => {
    await publish('go-internal', SHARED, 'v1.0.0');
    stub.addModule(SHARED, 'v1.1.0');
    stub.addModule(SHARED, 'v0.9.0');
    expect(await (await get(`/go/go-all/${SHARED}/@v/list`)).text()).toBe('v0.9.0\nv1.0.0\nv1.1.0\n');
    expect((await (await get(`/go/go-all/${SHARED}/@latest`)).json()).Version).toBe('v1.1.0');
  });

  test('a module no member has is 404', async () => {
    const res = await get('/go/go-all/example.org/nowhere/@v/v1.0.0.info');
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('not found in any member of group "go-all"');
  });

  // The go command would take a 404 as "try the next proxy" and hide the outage; 502 stops it with a reason.
  test('an upstream answering 500 for a module no hosted member has is a 502 naming the proxy member', async () => {
    const broken = 'example.org/broken';
    for (const path of Object.values(stub.paths(broken, 'v1.0.0'))) stub.fault(path, { kind: 'status', status: 500 });
    for (const path of ['@v/v1.0.0.info', '@v/list', '@latest']) {
      const res = await get(`/go/go-all/${broken}/${path}`);
      expect(res.status).toBe(502);
      expect(await res.text()).toStartWith('member "go-proxy" failed: ');
    }
  });

  test('an upstream that never answers is a 504 naming the proxy member', async () => {
    const hung = 'example.org/hung';
    stub.fault(stub.paths(hung, 'v1.0.0').info, { kind: 'hang' });
    const res = await get(`/go/go-all/${hung}/@v/v1.0.0.info`);
    expect(res.status).toBe(504);
    expect(await res.text()).toStartWith('member "go-proxy" failed: ');
  });

  test('an outage of the proxy member does not stop versions the hosted members have', async () => {
    // A module the proxy member has never been asked about, so that no remembered 404 stands in for the upstream.
    const module = 'corp.example/during-outage';
    await publish('go-internal', module, 'v1.0.0');
    for (const path of Object.values(stub.paths(module, 'v1.0.0'))) stub.fault(path, { kind: 'status', status: 500 });
    const zip = await get(`/go/go-all/${module}/@v/v1.0.0.zip`);
    expect(zip.status).toBe(200);
    // Read to the end: an unread body keeps its file handle open until garbage collection, which Bun reports as an error.
    await zip.arrayBuffer();
    // ...while the list, which could silently lose versions, says what is wrong.
    const list = await get(`/go/go-all/${module}/@v/list`);
    expect(list.status).toBe(502);
    expect(await list.text()).toStartWith('member "go-proxy" failed: ');
    stub.clearFault();
  });

  test('an upload to the group is 405 naming both hosted members; uploading to a member works', async () => {
    const zip = new Uint8Array(buildModuleZip(PRIVATE, 'v1.5.0-rc.1', { 'go.mod': `module ${PRIVATE}\n` }));
    const res = await t.request(`/go/go-all/${PRIVATE}/@v/v1.5.0-rc.1.zip`, { method: 'PUT', auth: ADMIN_AUTH, body: zip });
    expect(res.status).toBe(405);
    expect(await res.text()).toBe('group "go-all" takes no uploads: upload to a hosted member: go-internal, go-team\n');
    expect((await get(`/go/go-all/${PRIVATE}/@v/v1.5.0-rc.1.info`)).status).toBe(404);
  });
});
