import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { ADMIN_AUTH } from '../support/app';
import { type GoEnv, liveUpstream, makeGoEnv, runGo } from '../support/go';
import { HANG_LIMIT_MS } from '../support/limits';
import { startTestServer, type TestServer } from '../support/server';

/**
 * Modules with no tag at all list only pseudo-versions, and the upstream reachable from here has no
 * @latest: the go command, talking to it directly, falls back to the newest pseudo-version of the list.
 * Through a proxy repository and through a group over it, every answer the go command gives must be
 * the one it gives direct. Live: the real upstream (`go env GOPROXY`), skipped loudly when unreachable.
 */
const UNTAGGED = ['golang.org/x/xerrors', 'github.com/google/shlex', 'github.com/Azure/go-ansiterm'];
const GO_TIMEOUT = 120_000;

const live = await liveUpstream();
if ('skip' in live) console.warn(`SKIPPED live untagged-module test: ${live.skip}`);

describe.skipIf('skip' in live)('live: untagged modules of the real upstream GOPROXY through a proxy and a group', () => {
  const upstreamUrl = 'url' in live ? live.url : '';
  const sumdbName = 'sumdb' in live ? live.sumdb : '';
  let server: TestServer;
  const envs: GoEnv[] = [];

  const api = (path: string, body: unknown) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    server = await startTestServer();
    expect((await api('/api/v1/repositories', { name: 'go-proxy', type: 'proxy', remoteUrl: upstreamUrl })).status).toBe(201);
    expect((await api('/api/v1/repositories', { name: 'go-hosted', type: 'hosted', anonymousRead: true })).status).toBe(201);
    const group = await api('/api/v1/repositories', {
      name: 'go-all',
      type: 'group',
      members: ['go-hosted', 'go-proxy'],
      anonymousRead: true,
    });
    expect(group.status).toBe(201);
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    for (const e of envs) await e.cleanup();
    await server?.stop();
  });

  /** What the go command says for each question, one line each: exit status, then its answer or its error. */
  const ask = async (goproxy: string) => {
    const out: string[] = [];
    for (const m of UNTAGGED) {
      // A fresh module cache per module: nothing one answer fetched can help the next.
      const e = await makeGoEnv({ goproxy, gosumdb: sumdbName, goflags: '-modcacherw' });
      envs.push(e);
      const go = (args: string[]) => runGo(args, { env: e.env, cwd: e.work, timeoutMs: GO_TIMEOUT });
      for (const args of [
        ['list', '-m', `${m}@latest`],
        ['list', '-m', '-versions', m],
      ]) {
        const r = await go(args);
        out.push(`${args.join(' ')} -> ${r.code}: ${r.code === 0 ? r.stdout.trim() : r.stderr.trim()}`);
      }
      expect((await go(['mod', 'init', 'example.com/app'])).code).toBe(0);
      const got = await go(['get', m]);
      const goMod = (await Bun.file(join(e.work, 'go.mod')).text()).trim();
      out.push(`get ${m} -> ${got.code}: ${got.stderr.trim()}\n${goMod}`);
    }
    return out;
  };

  test('live: go list -m M@latest, go list -m -versions M and go get M answer through a proxy and a group exactly as direct', async () => {
    const direct = await ask(upstreamUrl);
    expect(direct.every((l) => / -> 0: /.test(l))).toBe(true);
    expect(await ask(`${server.url}/go/go-proxy/`)).toEqual(direct);
    expect(await ask(`${server.url}/go/go-all/`)).toEqual(direct);
  }, 600_000);
});
