import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { and, eq, isNotNull } from 'drizzle-orm';
import { moduleVersions, proxyCacheEntries } from '../../src/db/schema';
import fixture from '../fixtures/sumdb/uuid-v1.6.0.json';
import { ADMIN_AUTH } from '../support/app';
import { type GoEnv, type GoModDownload, goDefaultSumdbKey, machineGoEnv, makeGoEnv, parseJsonStream, runGo } from '../support/go';
import { HANG_LIMIT_MS } from '../support/limits';
import { startTestServer, type TestServer } from '../support/server';
import { type StubUpstream, startStubUpstream } from '../support/stub-upstream';
import { buildModuleZip } from '../support/zipbuild';

/**
 * The real go command, GOSUMDB on, through a proxy repository whose server verifies checksum
 * database answers with the database's key (ORBITREPO_GOSUMDB = the go command's own key line,
 * read from the Go distribution on this machine). Live against the real upstream `go env GOPROXY`
 * names; and against a loopback upstream that tampers a zip, where the proxy refuses and stores nothing.
 */
const key = goDefaultSumdbKey();
const name = key?.split('+')[0] ?? '';
const { module, version } = fixture;
if (!key) console.warn('SKIPPED: test/e2e/proxy-sumdb-go.test.ts needs a go command and its key.go');

async function liveUpstream(): Promise<string | undefined> {
  if (!key) return undefined;
  const first = (await machineGoEnv('GOPROXY')).split(/[,|]/)[0];
  if (!/^https?:\/\//.test(first)) return undefined;
  try {
    const res = await fetch(`${first}/sumdb/${name}/supported`, { signal: AbortSignal.timeout(15_000) });
    return res.status === 200 ? first : undefined;
  } catch {
    return undefined;
  }
}
const upstreamUrl = await liveUpstream();
if (key && !upstreamUrl)
  console.warn('SKIPPED live checksum test: the upstream of go env GOPROXY cannot be reached or does not relay the database');

describe.skipIf(!key)('the go command through a proxy repository that verifies with the checksum database key', () => {
  let server: TestServer;
  let stub: StubUpstream;
  let big: StubUpstream;
  const envs: GoEnv[] = [];
  const createProxy = async (repo: string, remoteUrl: string) => {
    const res = await fetch(`${server.url}/api/v1/repositories`, {
      method: 'POST',
      headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ name: repo, type: 'proxy', remoteUrl }),
    });
    expect(res.status).toBe(201);
  };
  const download = async (repo: string, gosumdb = name) => {
    const e = await makeGoEnv({ goproxy: `${server.url}/go/${repo}/`, gosumdb });
    envs.push(e);
    const r = await runGo(['mod', 'download', '-json', `${module}@${version}`], { env: e.env, cwd: e.work, timeoutMs: 240_000 });
    return { ...r, mods: parseJsonStream<GoModDownload>(r.stdout) };
  };
  // A small zip reaches the go command once checked, and its row is written right after: the fill is let finish first.
  const zipsStored = async () => {
    await server.ctx.coalescer.settled();
    const rows = await server.ctx.db
      .select({ v: moduleVersions.version })
      .from(moduleVersions)
      .where(and(eq(moduleVersions.modulePath, module), isNotNull(moduleVersions.zipKey)));
    return rows.length;
  };

  beforeAll(async () => {
    server = await startTestServer({ env: { ORBITREPO_GOSUMDB: key! } });
    // A loopback upstream serving the real go.mod and .info, a tampered zip, and the real checksum
    // database answer and tiles (recorded in test/fixtures/sumdb) through its /sumdb/ relay.
    stub = await startStubUpstream();
    stub.setFile(`${module}/@v/${version}.info`, `{"Version":"${version}","Time":"2024-01-23T18:54:04Z"}`, 'application/json');
    stub.setFile(`${module}/@v/${version}.mod`, `module ${module}\n`, 'text/plain');
    stub.setFile(
      `${module}/@v/${version}.zip`,
      buildModuleZip(module, version, { 'go.mod': `module ${module}\n`, 'uuid.go': 'package uuid // changed\n' }),
      'application/zip',
    );
    stub.setFile(`sumdb/${name}/lookup/${module}@${version}`, fixture.lookup.replace('{name}', name), 'text/plain');
    for (const [path, b64] of Object.entries(fixture.tiles))
      stub.setFile(`sumdb/${name}/${path}`, new Uint8Array(Buffer.from(b64, 'base64')));
    await createProxy('tampering', stub.url);
    // The same, with a tampered zip big enough to be streamed to its first client as it arrives.
    big = await startStubUpstream();
    for (const kind of ['info', 'mod'] as const) {
      const path = `${module}/@v/${version}.${kind}`;
      big.setFile(path, await (await fetch(`${stub.url}/${path}`)).bytes());
    }
    const changed = {
      'go.mod': `module ${module}\n`,
      'uuid.go': 'package uuid // changed\n',
      'big.bin': new Uint8Array(randomBytes(2 << 20)),
    };
    big.setFile(`${module}/@v/${version}.zip`, buildModuleZip(module, version, changed), 'application/zip');
    big.setFile(`sumdb/${name}/lookup/${module}@${version}`, fixture.lookup.replace('{name}', name), 'text/plain');
    for (const [path, b64] of Object.entries(fixture.tiles))
      big.setFile(`sumdb/${name}/${path}`, new Uint8Array(Buffer.from(b64, 'base64')));
    await createProxy('tampering-big', big.url);
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    for (const e of envs) await e.cleanup();
    await server?.stop();
    await stub?.close();
    await big?.close();
  });

  // With GOSUMDB off the go command has no record to check the zip against: the proxy's abort is all that stops it.
  test('a big tampered zip streamed to the go command (GOSUMDB off) breaks off before its end: the go command fails, nothing is stored', async () => {
    const r = await download('tampering-big', 'off');
    expect(r.code).not.toBe(0);
    // A broken transfer ("connection reset by peer"), not a complete file the go command then refused.
    expect(r.mods.map((m) => m.Error ?? '').join('\n')).toMatch(/v1\.6\.0\.zip.*(reset|unexpected EOF|closed)/);
    expect(await zipsStored()).toBe(0);
  }, 300_000);

  test('a tampered zip from a loopback upstream: the proxy answers 502 naming module, version and both hashes, the go command fails, nothing is stored', async () => {
    const r = await download('tampering');
    expect(r.code).not.toBe(0);
    expect(`${r.stderr}${r.mods.map((m) => m.Error ?? '').join('\n')}`).toContain('502');
    const recorded = /^\S+ \S+ (h1:\S+)$/m.exec(fixture.lookup)![1];
    const res = await fetch(`${server.url}/go/tampering/${module}/@v/${version}.zip`);
    expect(res.status).toBe(502);
    const text = await res.text();
    expect(text).toContain(`checksum mismatch for ${module}@${version} zip`);
    expect(text).toContain(recorded);
    expect(text).toMatch(/upstream served h1:\S+=/);
    expect(await zipsStored()).toBe(0);
  }, 300_000);

  test.skipIf(!upstreamUrl)(
    'live: go mod download of a real module through the proxy of the real upstream passes, the proxy having verified the record with the key',
    async () => {
      await createProxy('live', upstreamUrl!);
      const r = await download('live');
      expect(r.mods.map((m) => m.Error ?? null)).toEqual([null]);
      expect(r.code).toBe(0);
      expect(r.mods[0].Sum).toBe(/^\S+ \S+ (h1:\S+)$/m.exec(fixture.lookup)![1]);
      expect(await zipsStored()).toBe(1);
      // The proxy's own check read the record's proof tiles through the relay.
      const keys = (await server.ctx.db.select({ key: proxyCacheEntries.key }).from(proxyCacheEntries)).map((row) => row.key);
      expect(keys.some((k) => k.startsWith(`sumdb:${name}/tile/8/`))).toBe(true);
    },
    300_000,
  );
});
