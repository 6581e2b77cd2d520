import { afterAll, beforeAll } from 'bun:test';
import { ADMIN_AUTH, startTestApp, type TestApp } from '../../test/support/app';
import { type StubUpstream, startStubUpstream } from '../../test/support/stub-upstream';
import { buildModuleZip } from '../../test/support/zipbuild';
import {
  CONTRACT_VERSIONS,
  CONTRACT_MODULE as M,
  type PublishedVersion,
  runModuleReaderContract,
  WITHDRAWN,
} from './module-reader.contract';

// One app for the three worlds: each kind gets its own repositories (and the proxies their own upstream).
let t: TestApp;
const stubs: StubUpstream[] = [];
beforeAll(async () => {
  t = await startTestApp();
}, 120_000);
afterAll(async () => {
  for (const s of stubs) await s.close();
  await t?.close();
});

const enc = new TextEncoder();
const filesOf = (version: string) => ({ 'go.mod': `module ${M}\n\ngo 1.21\n`, 'lib.go': `package lib\n\nconst V = "${version}"\n` });

async function createRepository(body: Record<string, unknown>): Promise<void> {
  const res = await t.api('POST', '/repositories', body, ADMIN_AUTH);
  if (res.status !== 201) throw new Error(`creating ${JSON.stringify(body)}: ${res.status} ${await res.text()}`);
}

/** A hosted repository with `versions` published through its publishing role. */
async function hosted(name: string, versions: readonly string[]) {
  await createRepository({ name, type: 'hosted' });
  const repo = await t.ctx.registry.open(name);
  const published = new Map<string, PublishedVersion>();
  for (const v of versions) {
    const zip = buildModuleZip(M, v, filesOf(v));
    await repo.publisher!.upload(M, v, 'zip', new Blob([zip]).stream(), { username: 'admin' });
    published.set(v, { zip, mod: enc.encode(filesOf(v)['go.mod']) });
  }
  return { repo, published };
}

/** A proxy repository over a loopback upstream that has `versions`. */
async function proxy(name: string, versions: readonly string[]) {
  const stub = await startStubUpstream();
  stubs.push(stub);
  const published = new Map<string, PublishedVersion>();
  for (const v of versions) published.set(v, { zip: stub.addModule(M, v, { files: filesOf(v) }), mod: enc.encode(filesOf(v)['go.mod']) });
  await createRepository({ name, type: 'proxy', remoteUrl: stub.url });
  return { repo: await t.ctx.registry.open(name), published, stub };
}

runModuleReaderContract('hosted', async () => {
  const { repo, published } = await hosted('contract-hosted', CONTRACT_VERSIONS);
  return {
    reader: repo.reader,
    published,
    withdraw: () => repo.remover!.deleteVersion(M, WITHDRAWN, { username: 'admin' }),
    cleanup: async () => {},
  };
});

runModuleReaderContract('proxy over a loopback upstream', async () => {
  const { repo, published, stub } = await proxy('contract-proxy', CONTRACT_VERSIONS);
  return {
    reader: repo.reader,
    published,
    withdraw: async () => stub.fault(stub.paths(M, WITHDRAWN).zip, { kind: 'status', status: 410, body: 'gone' }),
    cleanup: async () => {},
  };
});

// The group's versions are spread over a hosted and a proxy member, so list and @latest merge and files read through.
runModuleReaderContract('group over a hosted and a proxy member', async () => {
  const h = await hosted('contract-group-hosted', ['v1.0.0', 'v1.2.0-rc.1']);
  const p = await proxy('contract-group-proxy', ['v1.1.0', WITHDRAWN]);
  await createRepository({ name: 'contract-group', type: 'group', members: ['contract-group-hosted', 'contract-group-proxy'] });
  const group = await t.ctx.registry.open('contract-group');
  return {
    reader: group.reader,
    published: new Map([...h.published, ...p.published]),
    withdraw: async () => p.stub.fault(p.stub.paths(M, WITHDRAWN).zip, { kind: 'status', status: 410, body: 'gone' }),
    cleanup: async () => {},
  };
});
