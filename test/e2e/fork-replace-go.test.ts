import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { ADMIN_AUTH, startTestApp, type TestApp } from '../support/app';
import { type GoEnv, goAvailable, runGo, type ServedToGo, serveToGo } from '../support/go';
import { HANG_LIMIT_MS } from '../support/limits';
import { type StubUpstream, startStubUpstream } from '../support/stub-upstream';
import { buildModuleZip } from '../support/zipbuild';

/**
 * Forks through `replace`, the usual way to use a patched dependency: the fork is published under its own
 * path, its go.mod still naming the module it forks, and the go command accepts that in a replacement only.
 * One program replaces two modules through one group: a public module by a fork the team hosts (hosted fork,
 * original behind the proxy), and a hosted module by a fork the upstream serves (proxy fork, hosted original).
 */
const PUBLIC = 'example.org/lib';
const PUBLIC_FORK = 'corp.example/forks/lib';
const PRIVATE = 'corp.example/util';
const PRIVATE_FORK = 'example.org/forks/util';
const GO_TIMEOUT = 120_000;

const goMod = (module: string) => `module ${module}\n\ngo 1.21\n`;

if (!goAvailable()) console.warn('SKIPPED: test/e2e/fork-replace-go.test.ts needs a go command on PATH');

describe.skipIf(!goAvailable())('the go command builds a program that replaces modules with forks, through a group', () => {
  let t: TestApp;
  let stub: StubUpstream;
  let served: ServedToGo | undefined;
  let goEnv: GoEnv;

  const publish = async (module: string, version: string, files: Record<string, string>) => {
    const zip = new Uint8Array(buildModuleZip(module, version, files));
    const res = await t.request(`/go/go-internal/${module}/@v/${version}.zip`, { method: 'PUT', auth: ADMIN_AUTH, body: zip });
    expect(res.status).toBe(201);
    return (await res.json()) as { notes?: string[] };
  };
  const go = (args: string[], cwd = goEnv.work) => runGo(args, { env: goEnv.env, cwd, timeoutMs: GO_TIMEOUT });

  beforeAll(async () => {
    stub = await startStubUpstream();
    t = await startTestApp();
    for (const body of [
      // Anonymous read: the go command sends no credentials over plain http.
      { name: 'go-internal', type: 'hosted', anonymousRead: true },
      { name: 'go-proxy', type: 'proxy', remoteUrl: stub.url },
      { name: 'go-all', type: 'group', members: ['go-internal', 'go-proxy'], anonymousRead: true },
    ]) {
      expect((await t.api('POST', '/repositories', body)).status).toBe(201);
    }
    stub.addModule(PUBLIC, 'v1.0.0', {
      files: { 'go.mod': goMod(PUBLIC), 'lib.go': 'package lib\n\nfunc Name() string { return "lib" }\n' },
    });
    stub.addModule(PRIVATE_FORK, 'v1.0.0', {
      files: { 'go.mod': goMod(PRIVATE), 'util.go': 'package util\n\nfunc Name() string { return "util, forked upstream" }\n' },
    });
    await publish(PRIVATE, 'v1.0.0', { 'go.mod': goMod(PRIVATE), 'util.go': 'package util\n\nfunc Name() string { return "util" }\n' });
    served = await serveToGo(t.app, 'go-all');
    goEnv = served.goEnv;
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await served?.close();
    await t?.close();
    await stub?.close();
  });

  test(
    'go run uses the hosted fork and the upstream fork in place of the modules they replace',
    async () => {
      const uploaded = await publish(PUBLIC_FORK, 'v1.0.1', {
        'go.mod': goMod(PUBLIC),
        'lib.go': 'package lib\n\nfunc Name() string { return "lib, forked here" }\n',
      });
      expect(uploaded.notes?.[0]).toContain(`only through a replace directive (replace ${PUBLIC} => ${PUBLIC_FORK} v1.0.1)`);

      const app = join(goEnv.root, 'app');
      await Bun.write(
        join(app, 'go.mod'),
        `module example.net/app\n\ngo 1.21\n\nrequire (\n\t${PUBLIC} v1.0.0\n\t${PRIVATE} v1.0.0\n)\n\n` +
          `replace ${PUBLIC} => ${PUBLIC_FORK} v1.0.1\n\nreplace ${PRIVATE} => ${PRIVATE_FORK} v1.0.0\n`,
      );
      await Bun.write(
        join(app, 'main.go'),
        `package main\n\nimport (\n\t"fmt"\n\n\t"${PUBLIC}"\n\t"${PRIVATE}"\n)\n\nfunc main() { fmt.Println(lib.Name() + "; " + util.Name()) }\n`,
      );
      const run = await go(['run', '.'], app);
      expect(run.stderr).not.toContain('error');
      expect(run.stdout.trim()).toBe('lib, forked here; util, forked upstream');
      expect(run.code).toBe(0);
      // Required directly, a fork is refused by the go command itself (its check, not the server's).
      const direct = await go(['mod', 'download', '-json', `${PUBLIC_FORK}@v1.0.1`], app);
      expect(direct.code).toBe(0);
      const get = await go(['get', `${PUBLIC_FORK}@v1.0.1`], app);
      expect(get.code).not.toBe(0);
      expect(get.stderr).toContain(`module declares its path as: ${PUBLIC}`);
    },
    GO_TIMEOUT,
  );
});
