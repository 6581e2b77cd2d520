/**
 * `orbitrepos-go publish` as a user runs it (a separate process, credentials
 * from the environment or a .netrc, the version from a git tag) against a
 * started server; then the real go command downloads and builds what it published.
 */

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { moduleDirCorpus, writeTree } from '../fixtures/module-dirs';
import { ADMIN_AUTH, ADMIN_PASSWORD } from '../support/app';
import { type GoEnv, type GoModDownload, goAvailable, makeGoEnv, parseJsonStream, runGo } from '../support/go';
import { HANG_LIMIT_MS } from '../support/limits';
import { startTestServer, type TestServer } from '../support/server';

const CLI = resolve(import.meta.dir, '..', '..', 'src', 'cli', 'main.ts');
const REPO = 'go-internal';
const haveGo = goAvailable() && Bun.which('git') !== null;
if (!haveGo) console.warn('SKIPPED: publish e2e needs the go and git commands on PATH');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function publishCli(args: string[], env: Record<string, string>): Promise<Run> {
  const p = Bun.spawn([process.execPath, CLI, 'publish', ...args], {
    // No ORBITREPO_* and no HOME of the test's own: every credential comes from what the test passes.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent', ...env },
    stdout: 'pipe',
    stderr: 'pipe',
    stdin: 'ignore',
  });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}

function git(cwd: string, ...args: string[]): void {
  const r = Bun.spawnSync(['git', '-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'tag.gpgSign=false', ...args], { cwd });
  if (r.exitCode !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr.toString()}`);
}

describe.skipIf(!haveGo)('modules published with orbitrepos-go publish are what the go command downloads and builds', () => {
  let server: TestServer;
  let go: GoEnv;
  const work = mkdtempSync(join(tmpdir(), 'orbit-publish-e2e-'));
  const netrc = join(work, 'netrc');
  const published = new Map<string, string>();

  beforeAll(async () => {
    server = await startTestServer();
    const res = await fetch(`${server.url}/api/v1/repositories`, {
      method: 'POST',
      headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ name: REPO, type: 'hosted', anonymousRead: true }),
    });
    expect(res.status).toBe(201);
    writeFileSync(netrc, `machine ${new URL(server.url).host} login admin password ${ADMIN_PASSWORD}\n`);
    go = await makeGoEnv({
      goproxy: `${server.url}/go/${REPO}/`,
      extra: { GOPRIVATE: 'corp.example,example.com', GONOPROXY: 'none', GOFLAGS: '-mod=mod -modcacherw' },
    });
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await go?.cleanup();
    await server?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  test('a module in a git checkout is published under its tag, with .netrc credentials, showing progress', async () => {
    const repo = join(work, 'greet-repo');
    writeTree(repo, {
      'go.mod': 'module corp.example/greet\n\ngo 1.21\n',
      'greet.go': 'package greet\n\nfunc Hello() string { return "hello from a published module" }\n',
      'tools/go.mod': 'module corp.example/greet/tools\n\ngo 1.21\n',
      'tools/t.go': 'package tools\n\nfunc Tool() string { return "tools v0.2.0" }\n',
    });
    git(repo, 'init', '-q');
    git(repo, 'add', '.');
    git(repo, 'commit', '-qm', 'greet');
    git(repo, 'tag', 'v1.0.0');
    git(repo, 'tag', 'tools/v0.2.0');
    const root = await publishCli([repo, '--repository', REPO, '--server', server.url], { NETRC: netrc });
    expect(root.stderr).toContain('version v1.0.0 from git tag v1.0.0');
    expect(root.stderr).toContain(`(credentials from ${netrc} (machine ${new URL(server.url).host}))`);
    expect(root.stderr).toContain('uploaded 100%');
    expect(root.code).toBe(0);
    expect(root.stdout).toMatch(/^published corp\.example\/greet@v1\.0\.0 h1:\S+\n$/);
    published.set('corp.example/greet@v1.0.0', root.stdout.trim().split(' ')[2]);
    // The nested module is its own module, tagged with its directory as prefix.
    const tools = await publishCli([join(repo, 'tools'), '-r', REPO, '-s', server.url], { NETRC: netrc });
    expect(tools.code).toBe(0);
    expect(tools.stderr).toContain('version v0.2.0 from git tag tools/v0.2.0');
    published.set('corp.example/greet/tools@v0.2.0', tools.stdout.trim().split(' ')[2]);
  });

  test('a directory with everything the go command leaves out is published with ORBITREPO_USER and ORBITREPO_TOKEN', async () => {
    for (const c of moduleDirCorpus.filter((c) => !c.refuses && c.module.startsWith('example.com/'))) {
      const dir = join(work, c.module.replaceAll('/', '_'));
      writeTree(dir, c.tree);
      const r = await publishCli([dir, '-r', REPO, '-s', server.url, '-v', c.version], {
        ORBITREPO_USER: 'admin',
        ORBITREPO_TOKEN: ADMIN_PASSWORD,
      });
      expect(`${c.name}: ${r.stderr}`).not.toContain('refused');
      expect(r.code).toBe(0);
      published.set(`${c.module}@${c.version}`, r.stdout.trim().split(' ')[2]);
    }
  });

  test('go mod download reports, for every published version, the h1: the publisher printed', async () => {
    const mods = [...published.keys()];
    const r = await runGo(['mod', 'download', '-json', ...mods], { env: go.env, cwd: go.work, timeoutMs: 170_000 });
    const got = parseJsonStream<GoModDownload>(r.stdout);
    expect(got.map((d) => d.Error ?? null)).toEqual(mods.map(() => null));
    expect(Object.fromEntries(got.map((d) => [`${d.Path}@${d.Version}`, d.Sum]))).toEqual(Object.fromEntries(published));
  }, 180_000);

  test('a program using the published modules builds and runs', async () => {
    await Bun.write(join(go.work, 'go.mod'), 'module consumer\n\ngo 1.21\n');
    await Bun.write(
      join(go.work, 'main.go'),
      'package main\n\nimport (\n\t"fmt"\n\n\t"corp.example/greet"\n\t"corp.example/greet/tools"\n)\n\nfunc main() { fmt.Println(greet.Hello(), tools.Tool()) }\n',
    );
    for (const args of [
      ['get', 'corp.example/greet@v1.0.0', 'corp.example/greet/tools@v0.2.0'],
      ['run', '.'],
    ]) {
      const r = await runGo(args, { env: go.env, cwd: go.work, timeoutMs: 170_000 });
      if (r.code !== 0) throw new Error(`go ${args.join(' ')} failed:\n${r.stderr}`);
      if (args[0] === 'run') expect(r.stdout).toBe('hello from a published module tools v0.2.0\n');
    }
  }, 180_000);

  test('publishing a version again exits 1 with the server reason', async () => {
    const r = await publishCli([join(work, 'greet-repo'), '-r', REPO, '-s', server.url, '-v', 'v1.0.0'], { NETRC: netrc });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the server refused corp\.example\/greet@v1\.0\.0 \(409\): .+/);
  });

  test('without credentials the server answers 401 and the publisher says where credentials go', async () => {
    const r = await publishCli([join(work, 'greet-repo'), '-r', REPO, '-s', server.url, '-v', 'v1.0.1'], {});
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('(no credentials found)');
    expect(r.stderr).toContain('(401)');
    expect(r.stderr).toContain('set ORBITREPO_TOKEN');
  });

  test('a directory the go command would refuse is refused before anything is sent, naming files and rules', async () => {
    const c = moduleDirCorpus.find((c) => c.refuses?.includes('case-collision'))!;
    const dir = join(work, 'refused');
    writeTree(dir, c.tree);
    const r = await publishCli([dir, '-r', REPO, '-s', server.url, '-v', c.version], { NETRC: netrc });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('a.go: case-insensitive file name collision: "A.go" and "a.go"');
    expect(r.stderr).toContain('[case-collision]');
    expect(r.stderr).not.toContain('PUT ');
    expect((await fetch(`${server.url}/go/${REPO}/${c.module}/@v/${c.version}.info`)).status).toBe(404);
  });
});
