import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { proxyCacheEntries } from '../../src/db/schema';
import { ADMIN_AUTH, ADMIN_PASSWORD } from '../support/app';
import { expireProxyAnswers } from '../support/expire';
import { type GoEnv, type GoModDownload, goAvailable, liveUpstream, makeGoEnv, parseJsonStream, runGo } from '../support/go';
import { HANG_LIMIT_MS } from '../support/limits';
import { startTestServer, type TestServer } from '../support/server';
import { buildModuleZip } from '../support/zipbuild';

/**
 * The real go command through a proxy repository whose upstream is another OrbitRepos server
 * holding a private hosted repository: first builds fill the cache; then, with the upstream
 * stopped, a fresh module cache still builds from what the proxy stored.
 */
const GREET = 'corp.example/greet';
const COLOR = 'corp.example/Color';
const GO_TIMEOUT = 120_000;

if (!goAvailable()) console.warn('SKIPPED: test/e2e/proxy-go.test.ts needs a go command on PATH');

describe.skipIf(!goAvailable())('the go command through a proxy repository', () => {
  let upstream: TestServer;
  let proxy: TestServer;
  const envs: GoEnv[] = [];

  const api = (server: TestServer, method: string, path: string, body?: unknown) =>
    fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const publish = async (module: string, version: string, files: Record<string, string>) => {
    const zip = new Uint8Array(buildModuleZip(module, version, { 'go.mod': `module ${module}\n\ngo 1.21\n`, ...files }));
    const res = await fetch(`${upstream.url}/go/go-hosted/${module.replace(/[A-Z]/g, (c) => `!${c.toLowerCase()}`)}/@v/${version}.zip`, {
      method: 'PUT',
      headers: { authorization: ADMIN_AUTH },
      body: zip,
    });
    expect(res.status).toBe(201);
  };
  const goEnv = async () => {
    const e = await makeGoEnv({ goproxy: `${proxy.url}/go/go-proxy/` });
    envs.push(e);
    return e;
  };
  const go = (e: GoEnv, args: string[], cwd: string) => runGo(args, { env: e.env, cwd, timeoutMs: GO_TIMEOUT });

  beforeAll(async () => {
    [upstream, proxy] = await Promise.all([startTestServer(), startTestServer()]);
    expect((await api(upstream, 'POST', '/api/v1/repositories', { name: 'go-hosted', type: 'hosted' })).status).toBe(201);
    // The hosted repository is private: the proxy reads it with the upstream credentials of its settings.
    const res = await api(proxy, 'POST', '/api/v1/repositories', {
      name: 'go-proxy',
      type: 'proxy',
      remoteUrl: `${upstream.url}/go/go-hosted/`,
      // A private upstream's modules are in no public checksum database: they are named as the go command's GONOSUMDB would.
      settings: {
        upstreamUsername: 'admin',
        upstreamPassword: ADMIN_PASSWORD,
        connectTimeoutMs: 1000,
        responseTimeoutMs: 5000,
        noSumdbPatterns: 'corp.example',
      },
    });
    expect(res.status).toBe(201);
    await publish(GREET, 'v1.0.0', { 'greet.go': 'package greet\n\nfunc Hello() string { return "hello v1.0.0" }\n' });
    await publish(GREET, 'v1.1.0', { 'greet.go': 'package greet\n\nfunc Hello() string { return "hello v1.1.0" }\n' });
    await publish(COLOR, 'v0.3.0', { 'color.go': 'package color\n\nfunc Name() string { return "blue" }\n' });
  }, HANG_LIMIT_MS);

  afterAll(async () => {
    for (const e of envs) await e.cleanup();
    await proxy?.stop();
    await upstream?.stop();
  });

  let consumer: string;

  test(
    'go mod download and go build work through the proxy, with the hashes the upstream serves',
    async () => {
      const e = await goEnv();
      consumer = join(e.root, 'consumer');
      await Bun.write(join(consumer, 'go.mod'), 'module example.net/consumer\n\ngo 1.21\n');
      await Bun.write(
        join(consumer, 'main.go'),
        `package main\n\nimport (\n\t"fmt"\n\n\t"${COLOR}"\n\t"${GREET}"\n)\n\nfunc main() { fmt.Println(greet.Hello(), color.Name()) }\n`,
      );
      // go get asks list and @latest, then .info, .mod and .zip.
      const get = await go(e, ['get', `${GREET}@latest`, `${COLOR}@v0.3.0`], consumer);
      expect(get.stderr).not.toContain('error');
      expect(get.code).toBe(0);
      const download = await go(e, ['mod', 'download', '-json', `${GREET}@v1.1.0`, `${COLOR}@v0.3.0`], consumer);
      expect(download.code).toBe(0);
      const mods = parseJsonStream<GoModDownload>(download.stdout);
      expect(mods.map((m) => [m.Path, m.Version, m.Error ?? null])).toEqual([
        [GREET, 'v1.1.0', null],
        [COLOR, 'v0.3.0', null],
      ]);
      const build = await go(e, ['build', '-o', join(e.root, 'consumer-bin'), '.'], consumer);
      expect(build.stderr).toBe('');
      expect(build.code).toBe(0);
      expect(Bun.spawnSync([join(e.root, 'consumer-bin')]).stdout.toString()).toBe('hello v1.1.0 blue\n');
      // The go.sum hashes equal what the upstream's own rows say (h1 is computed independently on each side).
      const sum = await Bun.file(join(consumer, 'go.sum')).text();
      for (const m of mods) expect(sum).toContain(`${m.Path} ${m.Version} ${m.Sum}`);
    },
    GO_TIMEOUT,
  );

  test(
    'a module the upstream never had is a 404, so the go command reports it as not found',
    async () => {
      const e = await goEnv();
      const dir = join(e.root, 'other');
      await Bun.write(join(dir, 'go.mod'), 'module example.net/other\n\ngo 1.21\n');
      const res = await go(e, ['mod', 'download', '-json', 'corp.example/missing@v1.0.0'], dir);
      expect(res.code).not.toBe(0);
      expect(res.stdout).toMatch(/404|not found/i);
    },
    GO_TIMEOUT,
  );

  test(
    'with the upstream stopped, a fresh module cache still builds from what the proxy cached',
    async () => {
      await upstream.stop();
      const e = await goEnv();
      const copy = join(e.root, 'consumer');
      await cp(consumer, copy, { recursive: true });
      const build = await go(e, ['build', '-o', join(e.root, 'consumer-bin'), '.'], copy);
      expect(build.stderr).not.toContain('error');
      expect(build.code).toBe(0);
      expect(Bun.spawnSync([join(e.root, 'consumer-bin')]).stdout.toString()).toBe('hello v1.1.0 blue\n');
      // list still answers from the last good answer, even once it is past its TTL.
      await expireProxyAnswers(proxy.ctx);
      const list = await go(e, ['list', '-m', '-versions', GREET], copy);
      expect(list.stdout.trim()).toBe(`${GREET} v1.0.0 v1.1.0`);
    },
    GO_TIMEOUT,
  );
});

const live = await liveUpstream();
if ('skip' in live) console.warn(`SKIPPED live proxy test: ${live.skip}`);

describe.skipIf('skip' in live)('live: the go command through a proxy of the real upstream GOPROXY', () => {
  const upstreamUrl = 'url' in live ? live.url : '';
  const sumdbName = 'sumdb' in live ? live.sumdb : '';
  const MODULES = ['golang.org/x/text@v0.14.0', 'github.com/google/uuid@v1.6.0', 'rsc.io/quote@v1.5.2'];
  let proxy: TestServer;
  const envs: GoEnv[] = [];

  beforeAll(async () => {
    proxy = await startTestServer();
    const res = await fetch(`${proxy.url}/api/v1/repositories`, {
      method: 'POST',
      headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'go-proxy', type: 'proxy', remoteUrl: upstreamUrl }),
    });
    expect(res.status).toBe(201);
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    for (const e of envs) await e.cleanup();
    await proxy?.stop();
  });

  const download = async (goproxy: string) => {
    // GOSUMDB names the database only: the go command then asks the GOPROXY's /sumdb/ first.
    const e = await makeGoEnv({ goproxy, gosumdb: sumdbName });
    envs.push(e);
    const r = await runGo(['mod', 'download', '-json', ...MODULES], { env: e.env, cwd: e.work, timeoutMs: 240_000 });
    return { ...r, mods: parseJsonStream<GoModDownload>(r.stdout) };
  };

  test('live: go mod download of public modules through the proxy, verified through the sumdb pass-through, gives the upstream sums', async () => {
    const through = await download(`${proxy.url}/go/go-proxy/`);
    expect(through.mods.map((m) => m.Error ?? null)).toEqual(MODULES.map(() => null));
    expect(through.code).toBe(0);
    const direct = await download(upstreamUrl);
    expect(direct.code).toBe(0);
    expect(through.mods.map((m) => [m.Path, m.Version, m.Sum, m.GoModSum])).toEqual(
      direct.mods.map((m) => [m.Path, m.Version, m.Sum, m.GoModSum]),
    );
    // The checksum database was consulted through the proxy, not around it.
    const keys = (await proxy.ctx.db.select({ key: proxyCacheEntries.key }).from(proxyCacheEntries)).map((r) => r.key);
    expect(keys).toContain(`sumdb:${sumdbName}/supported`);
    expect(keys.some((k) => k.startsWith(`sumdb:${sumdbName}/lookup/`))).toBe(true);
    expect(keys.some((k) => k.startsWith(`sumdb:${sumdbName}/tile/`))).toBe(true);
  }, 300_000);
});
