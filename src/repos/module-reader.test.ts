import { afterAll, beforeAll, describe } from 'bun:test';
import { ADMIN_AUTH, startTestApp, type TestApp } from '../../test/support/app';
import { testDatabaseKinds } from '../../test/support/db';
import { type StubUpstream, startStubUpstream } from '../../test/support/stub-upstream';
import { buildModuleZip } from '../../test/support/zipbuild';
import { type ReadingWorld, runReadingContract } from '../http/go-routes.contract';
import { CONTRACT_VERSIONS, GONE, CONTRACT_MODULE as M, type PublishedVersion } from './module-reader.contract';

const enc = new TextEncoder();
const filesOf = (version: string) => ({ 'go.mod': `module ${M}\n\ngo 1.21\n`, 'lib.go': `package lib\n\nconst V = "${version}"\n` });

describe.each(testDatabaseKinds())('on %s', (dbKind) => {
  // One app for the three worlds: each kind gets its own repositories (and the proxies their own upstream).
  let t: TestApp;
  const stubs: StubUpstream[] = [];
  beforeAll(async () => {
    t = await startTestApp({ db: dbKind });
  }, 120_000);
  afterAll(async () => {
    for (const s of stubs) await s.close();
    await t?.close();
  });

  async function createRepository(body: Record<string, unknown>): Promise<void> {
    const res = await t.api('POST', '/repositories', body, ADMIN_AUTH);
    if (res.status !== 201) throw new Error(`creating ${JSON.stringify(body)}: ${res.status} ${await res.text()}`);
  }

  /** The repository's Go routes, asked by the administrator. */
  const routes =
    (name: string) =>
    (path: string, init: RequestInit = {}) =>
      t.request(`/go/${name}/${path}`, { ...init, auth: ADMIN_AUTH });

  /** A hosted repository (write policy allow_once) with `versions` published, and `gone` published and then deleted. */
  async function hosted(name: string, versions: readonly string[], gone: readonly string[] = []) {
    await createRepository({ name, type: 'hosted' });
    const repo = await t.ctx.registry.open(name);
    const published = new Map<string, PublishedVersion>();
    for (const v of [...versions, ...gone]) {
      const zip = buildModuleZip(M, v, filesOf(v));
      await repo.publisher!.upload(M, v, 'zip', new Blob([zip]).stream(), { username: 'admin' });
      published.set(v, { zip, mod: enc.encode(filesOf(v)['go.mod']) });
    }
    for (const v of gone) {
      await repo.remover!.deleteVersion(M, v, { username: 'admin' });
      published.delete(v);
    }
    return { repo, published };
  }

  /** A proxy repository over a loopback upstream that has `versions` and answers 410 for every file of `gone`. */
  async function proxy(name: string, versions: readonly string[], gone: readonly string[] = []) {
    const stub = await startStubUpstream();
    stubs.push(stub);
    const published = new Map<string, PublishedVersion>();
    for (const v of versions) published.set(v, { zip: stub.addModule(M, v, { files: filesOf(v) }), mod: enc.encode(filesOf(v)['go.mod']) });
    for (const v of gone) {
      const p = stub.paths(M, v);
      for (const path of [p.info, p.mod, p.zip]) stub.fault(path, { kind: 'status', status: 410, body: 'gone' });
    }
    await createRepository({ name, type: 'proxy', remoteUrl: stub.url });
    return { repo: await t.ctx.registry.open(name), published };
  }

  runReadingContract('hosted', async (): Promise<ReadingWorld> => {
    const { repo, published } = await hosted('contract-hosted', CONTRACT_VERSIONS, [GONE]);
    return { reader: repo.reader, published, request: routes('contract-hosted'), cleanup: async () => {} };
  });

  runReadingContract('proxy over a loopback upstream', async (): Promise<ReadingWorld> => {
    const { repo, published } = await proxy('contract-proxy', CONTRACT_VERSIONS, [GONE]);
    return { reader: repo.reader, published, request: routes('contract-proxy'), cleanup: async () => {} };
  });

  // The group's versions are spread over a hosted and a proxy member, so list and @latest merge and files read
  // through; the gone version is gone from the proxy member and was never in the hosted one.
  runReadingContract('group over a hosted and a proxy member', async (): Promise<ReadingWorld> => {
    const h = await hosted('contract-group-hosted', ['v1.0.0', 'v1.2.0-rc.1']);
    const p = await proxy('contract-group-proxy', ['v1.1.0', 'v1.3.0'], [GONE]);
    await createRepository({ name: 'contract-group', type: 'group', members: ['contract-group-hosted', 'contract-group-proxy'] });
    const group = await t.ctx.registry.open('contract-group');
    return {
      reader: group.reader,
      published: new Map([...h.published, ...p.published]),
      request: routes('contract-group'),
      cleanup: async () => {},
    };
  });
});
