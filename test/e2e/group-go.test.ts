import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { ADMIN_AUTH, startTestApp, type TestApp } from '../support/app';
import { testDatabaseKinds } from '../support/db';
import { type GoEnv, goAvailable, runGo, type ServedToGo, serveToGo } from '../support/go';
import { HANG_LIMIT_MS } from '../support/limits';
import { type StubUpstream, startStubUpstream } from '../support/stub-upstream';
import { buildModuleZip } from '../support/zipbuild';

/**
 * The real go command with one GOPROXY, the group, in front of a hosted member (private modules)
 * and a proxy member whose upstream is a loopback stub (public modules).
 */
const PRIVATE = 'corp.example/private';
const PUBLIC = 'example.org/public';
const SHARED = 'example.org/shared';
const BROKEN = 'example.org/broken';
const GO_TIMEOUT = 120_000;

if (!goAvailable()) console.warn('SKIPPED: test/e2e/group-go.test.ts needs a go command on PATH');

describe.skipIf(!goAvailable()).each(testDatabaseKinds())('the go command through a group repository (%s)', (dbKind) => {
  let t: TestApp;
  let stub: StubUpstream;
  let served: ServedToGo | undefined;
  let goEnv: GoEnv;

  const publish = async (module: string, version: string, files: Record<string, string>) => {
    const zip = new Uint8Array(buildModuleZip(module, version, { 'go.mod': `module ${module}\n\ngo 1.21\n`, ...files }));
    const res = await t.request(`/go/go-internal/${module}/@v/${version}.zip`, { method: 'PUT', auth: ADMIN_AUTH, body: zip });
    expect(res.status).toBe(201);
  };
  const go = (args: string[], cwd = goEnv.work) => runGo(args, { env: goEnv.env, cwd, timeoutMs: GO_TIMEOUT });

  // PGlite start and migrations alone can take seconds on a busy machine; hooks get only 5 s by default.
  beforeAll(async () => {
    stub = await startStubUpstream();
    t = await startTestApp({ db: dbKind });
    for (const body of [
      // Anonymous read throughout: the go command refuses to send credentials over plain http, and a group
      // serves an anonymous caller only the members that read anonymously (group reads are member reads).
      { name: 'go-internal', type: 'hosted', anonymousRead: true },
      { name: 'go-proxy', type: 'proxy', remoteUrl: stub.url },
      { name: 'go-all', type: 'group', members: ['go-internal', 'go-proxy'], anonymousRead: true },
    ]) {
      expect((await t.api('POST', '/repositories', body)).status).toBe(201);
    }
    served = await serveToGo(t.app, 'go-all');
    goEnv = served.goEnv;
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await served?.close();
    await t?.close();
    await stub?.close();
  });

  test(
    'go build of a module that needs a private module from the hosted member and a public one from the proxy member succeeds',
    async () => {
      await publish(PRIVATE, 'v1.0.0', { 'private.go': 'package private\n\nfunc Name() string { return "private" }\n' });
      stub.addModule(PUBLIC, 'v1.2.0', { files: { 'public.go': 'package public\n\nfunc Name() string { return "public" }\n' } });
      const app = join(goEnv.root, 'consumer');
      await Bun.write(
        join(app, 'go.mod'),
        `module example.net/consumer\n\ngo 1.21\n\nrequire (\n\t${PRIVATE} v1.0.0\n\t${PUBLIC} v1.2.0\n)\n`,
      );
      await Bun.write(
        join(app, 'main.go'),
        `package main\n\nimport (\n\t"fmt"\n\n\t"${PRIVATE}"\n\t"${PUBLIC}"\n)\n\nfunc main() { fmt.Println(private.Name(), public.Name()) }\n`,
      );
      const build = await go(['build', '-o', join(goEnv.root, 'consumer-bin'), '.'], app);
      expect(build.stderr).not.toContain('error');
      expect(build.code).toBe(0);
      const sum = await Bun.file(join(app, 'go.sum')).text();
      expect(sum).toContain(`${PRIVATE} v1.0.0 h1:`);
      expect(sum).toContain(`${PUBLIC} v1.2.0 h1:`);
      const run = Bun.spawnSync([join(goEnv.root, 'consumer-bin')]);
      expect(run.stdout.toString()).toBe('private public\n');
    },
    GO_TIMEOUT,
  );

  test(
    'go list -m -versions shows the versions of one module from both members merged',
    async () => {
      await publish(SHARED, 'v1.0.0', { 's.go': 'package shared\n' });
      stub.addModule(SHARED, 'v0.9.0');
      stub.addModule(SHARED, 'v1.1.0');
      const r = await go(['list', '-m', '-versions', SHARED]);
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe(`${SHARED} v0.9.0 v1.0.0 v1.1.0`);
      const latest = await go(['list', '-m', '-json', `${SHARED}@latest`]);
      expect(JSON.parse(latest.stdout).Version).toBe('v1.1.0');
    },
    GO_TIMEOUT,
  );

  // A 404 would let the go command carry on (to direct, or the next proxy) and hide the outage.
  test(
    'a proxy member whose upstream answers 500 makes the go command fail with the 502 naming that member',
    async () => {
      for (const path of Object.values(stub.paths(BROKEN, 'v1.0.0'))) stub.fault(path, { kind: 'status', status: 500 });
      const r = await go(['mod', 'download', `${BROKEN}@v1.0.0`]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('502 Bad Gateway');
      expect(r.stderr).toContain('member "go-proxy" failed');
    },
    GO_TIMEOUT,
  );
});
