import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { ADMIN_AUTH, startTestApp, type TestApp } from '../support/app';
import { testDatabaseKinds } from '../support/db';
import { type GoEnv, goAvailable, runGo, type ServedToGo, serveToGo } from '../support/go';
import { HANG_LIMIT_MS } from '../support/limits';
import { type StubUpstream, startStubUpstream } from '../support/stub-upstream';
import { buildModuleZip } from '../support/zipbuild';

/**
 * Dependency confusion, with the real go command: a loopback upstream publishes an impostor under the path
 * of a private module, with a higher version. Through a group of [proxy, hosted] whose hosted member owns
 * `corp.example`, `go get …@latest` must resolve the hosted version, and the upstream must never be asked
 * anything under corp.example: not the module, not the go command's path-prefix probes.
 */
const PRIVATE = 'corp.example/team/core';
const PUBLIC = 'example.org/public';
/** Higher than the hosted v0.9.0 and valid for the path, so the go command would pick it from a merged list. */
const IMPOSTOR = 'v0.99.0';
const GO_TIMEOUT = 120_000;

if (!goAvailable()) console.warn('SKIPPED: test/e2e/impostor-go.test.ts needs a go command on PATH');

describe.skipIf(!goAvailable()).each(testDatabaseKinds())('a public impostor of a private module path (%s)', (dbKind) => {
  let t: TestApp;
  let stub: StubUpstream;
  let served: ServedToGo | undefined;
  let goEnv: GoEnv;
  const go = (args: string[], cwd: string) => runGo(args, { env: goEnv.env, cwd, timeoutMs: GO_TIMEOUT });
  const leaked = () => stub.requests.filter((r) => r.path.includes('corp.example')).map((r) => r.path);

  beforeAll(async () => {
    stub = await startStubUpstream();
    stub.addModule(PRIVATE, IMPOSTOR, { files: { 'core.go': 'package core\n\nfunc Who() string { return "impostor" }\n' } });
    stub.addModule(PUBLIC, 'v1.0.0', { files: { 'public.go': 'package public\n' } });
    t = await startTestApp({ db: dbKind });
    for (const body of [
      // Anonymous read: the go command sends no credentials over plain http.
      { name: 'internal', type: 'hosted', anonymousRead: true, namespaces: ['corp.example'] },
      { name: 'mirror', type: 'proxy', remoteUrl: stub.url, settings: { checksumVerification: 'off' } },
      // The proxy member first: member order must not decide who answers a private path.
      { name: 'all', type: 'group', members: ['mirror', 'internal'], anonymousRead: true },
    ]) {
      const res = await t.api('POST', '/repositories', body);
      expect(res.status, await res.clone().text()).toBe(201);
    }
    const zip = buildModuleZip(PRIVATE, 'v0.9.0', {
      'go.mod': `module ${PRIVATE}\n\ngo 1.21\n`,
      'core.go': 'package core\n\nfunc Who() string { return "hosted" }\n',
    });
    expect((await t.request(`/go/internal/${PRIVATE}/@v/v0.9.0.zip`, { method: 'PUT', auth: ADMIN_AUTH, body: zip })).status).toBe(201);
    // GONOSUMDB as the README tells a team to set it; the checksum database is off in tests anyway.
    served = await serveToGo(t.app, 'all', { extra: { GONOSUMDB: 'corp.example' } });
    goEnv = served.goEnv;
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await served?.close();
    await t?.close();
    await stub?.close();
  });

  test(
    'go get …@latest resolves the hosted version, builds it, and the upstream hears nothing of corp.example',
    async () => {
      stub.requests.length = 0;
      const app = join(goEnv.root, 'consumer');
      await Bun.write(join(app, 'go.mod'), 'module example.net/consumer\n\ngo 1.21\n');
      await Bun.write(
        join(app, 'main.go'),
        `package main\n\nimport (\n\t"fmt"\n\n\t"${PRIVATE}"\n\t_ "${PUBLIC}"\n)\n\nfunc main() { fmt.Println(core.Who()) }\n`,
      );
      const get = await go(['get', `${PRIVATE}@latest`, `${PUBLIC}@latest`], app);
      expect(get.stderr).not.toContain(IMPOSTOR);
      expect(get.code, get.stderr).toBe(0);
      const gomod = await Bun.file(join(app, 'go.mod')).text();
      expect(gomod).toContain(`${PRIVATE} v0.9.0`);
      expect(gomod).toContain(`${PUBLIC} v1.0.0`);

      const bin = join(goEnv.root, 'consumer-bin');
      const build = await go(['build', '-o', bin, '.'], app);
      expect(build.code, build.stderr).toBe(0);
      expect(Bun.spawnSync([bin]).stdout.toString()).toBe('hosted\n');

      const versions = await go(['list', '-m', '-versions', PRIVATE], app);
      expect(versions.stdout.trim()).toBe(`${PRIVATE} v0.9.0`);
      const impostor = await go(['mod', 'download', `${PRIVATE}@${IMPOSTOR}`], app);
      expect(impostor.code).not.toBe(0);

      // The public module did come through the upstream, so the proxy member was really in use.
      expect(stub.count(stub.paths(PUBLIC, 'v1.0.0').zip)).toBe(1);
      expect(leaked()).toEqual([]);
    },
    GO_TIMEOUT * 2,
  );
});
