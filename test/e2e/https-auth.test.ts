import { afterAll, beforeAll, describe, expect, spyOn, test } from 'bun:test';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addressKey, signInKey } from '../../src/auth/throttle';
import { ADMIN_PASSWORD, basic } from '../support/app';
import { testDatabaseKinds } from '../support/db';
import { type GoEnv, goAvailable, makeGoEnv, parseJsonStream, runGo } from '../support/go';
import { startServerProcess, startTestServer, type TestServer } from '../support/server';
import { makeTestCA } from '../support/tls';
import { buildModuleZip } from '../support/zipbuild';

const MOD = 'example.test/private/mod';
const VERSION = 'v1.0.0';
const E2E_TIMEOUT = 120_000;
const haveTools = goAvailable() && Bun.which('openssl') !== null;

if (!haveTools) console.warn('SKIPPING test/e2e/https-auth.test.ts: needs both the go command and openssl on PATH');

/**
 * The go command sends credentials only over HTTPS: it refuses userinfo in an http GOPROXY and sends no
 * .netrc credentials to http hosts. So private repositories are tested the way CI uses them, over TLS
 * with a throwaway CA that the go command trusts through SSL_CERT_FILE.
 */
describe.skipIf(!haveTools).each(testDatabaseKinds())('the go command against private repositories over HTTPS on %s', (dbKind) => {
  let server: TestServer;
  let ca: string;
  let aliceToken: string;
  let aliceTokenId: number;
  const goEnvs: GoEnv[] = [];

  /** fetch that trusts the test CA. */
  const call = (path: string, init: RequestInit & { auth?: string } = {}) => {
    const headers = new Headers(init.headers);
    if (init.auth) headers.set('authorization', init.auth);
    return fetch(`${server.url}${path}`, { ...init, headers, tls: { ca } } as RequestInit);
  };
  const api = async (method: string, path: string, body?: unknown, auth = basic('admin', ADMIN_PASSWORD)) => {
    const res = await call(`/api/v1${path}`, {
      method,
      auth,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return res.status === 204 ? null : res.json();
  };

  /**
   * A go command environment with a fresh module cache, trusting the test CA, treating MOD as private
   * (no checksum database). GOPRIVATE alone would also send MOD around the proxy, straight to its VCS
   * host; GONOPROXY=none (the documented idiom) keeps it on our GOPROXY.
   */
  const goEnv = async (goproxy: string, extra: Record<string, string> = {}) => {
    const env = await makeGoEnv({
      goproxy,
      extra: {
        SSL_CERT_FILE: server.tls!.caCertFile,
        GOPRIVATE: MOD,
        GONOPROXY: 'none',
        GONOSUMDB: '*',
        GOSUMDB: 'off',
        GOFLAGS: '-mod=mod -modcacherw',
        ...extra,
      },
    });
    goEnvs.push(env);
    return env;
  };
  /** With -json the go command reports a failed download in the JSON's Error field, not on stderr. */
  const download = async (env: GoEnv) => {
    const r = await runGo(['mod', 'download', '-json', `${MOD}@${VERSION}`], { env: env.env, cwd: env.work });
    return { ...r, all: r.stdout + r.stderr };
  };

  beforeAll(async () => {
    server = await startTestServer({ db: dbKind, tls: true });
    ca = readFileSync(server.tls!.caCertFile, 'utf8');
    await api('POST', '/users', { username: 'alice', password: 'alice-password' });
    await api('POST', '/users', { username: 'reader', password: 'reader-password' });
    await api('POST', '/repositories', { name: 'private', type: 'hosted' });
    await api('PUT', '/repositories/private/permissions/alice', { role: 'write' });
    await api('PUT', '/repositories/private/permissions/reader', { role: 'read' });
    const created = await api('POST', '/tokens', { name: 'ci' }, basic('alice', 'alice-password'));
    aliceToken = created.token;
    aliceTokenId = created.id;
  }, E2E_TIMEOUT);
  afterAll(async () => {
    for (const env of goEnvs) await env.cleanup();
    await server?.stop();
  });

  test('the server speaks HTTPS with a certificate for 127.0.0.1', async () => {
    expect(server.url).toStartWith('https://127.0.0.1:');
    expect((await call('/health')).status).toBe(200);
  });

  test.each([
    ['/health', 200],
    ['/go/private/example.test/m/@v/list', 401],
    ['/api/v1/users/me', 401],
    ['/api/v1/nowhere', 404],
    ['/login', 200],
    ['/no/such/page', 404],
  ])('under TLS %s answers %d with Strict-Transport-Security', async (path, status) => {
    const res = await call(path);
    expect(res.status).toBe(status);
    expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000');
  });

  // Publishing needs the hosted repository; parts (a) and (b) below depend on it.
  test('a user with write publishes a module with a PUT of its zip, using the token', async () => {
    const zip = buildModuleZip(MOD, VERSION, { 'go.mod': `module ${MOD}\n\ngo 1.21\n`, 'mod.go': 'package mod\n\nconst Answer = 42\n' });
    const res = await call(`/go/private/${MOD}/@v/${VERSION}.zip`, {
      method: 'PUT',
      auth: basic('alice', aliceToken),
      body: new Uint8Array(zip),
    });
    expect(res.status).toBe(201);
  });

  test(
    '(a) GOPROXY with user:token in the URL downloads the private module',
    async () => {
      const host = new URL(server.url).host;
      const env = await goEnv(`https://alice:${aliceToken}@${host}/go/private/`);
      const r = await download(env);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const [info] = parseJsonStream<{ Version: string; Zip: string; Error?: string }>(r.stdout);
      expect(info.Error).toBeUndefined();
      expect(info.Version).toBe(VERSION);
      expect(existsSync(info.Zip)).toBe(true);
    },
    E2E_TIMEOUT,
  );

  test(
    '(b) a .netrc entry for host:port with a plain GOPROXY downloads it too',
    async () => {
      const env = await goEnv(`${server.url}/go/private/`);
      const netrc = join(env.root, 'netrc');
      writeFileSync(netrc, `machine ${new URL(server.url).host} login alice password ${aliceToken}\n`, { mode: 0o600 });
      env.env.NETRC = netrc;
      const r = await download(env);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(parseJsonStream<{ Version: string }>(r.stdout)[0].Version).toBe(VERSION);
    },
    E2E_TIMEOUT,
  );

  test("(d) a read-only user's upload is refused with 403", async () => {
    const zip = buildModuleZip(MOD, 'v1.1.0', { 'go.mod': `module ${MOD}\n` });
    const res = await call(`/go/private/${MOD}/@v/v1.1.0.zip`, {
      method: 'PUT',
      auth: basic('reader', 'reader-password'),
      body: new Uint8Array(zip),
    });
    expect(res.status).toBe(403);
    expect(await res.text()).toBe('user "reader" may not write to repository "private"\n');
  });

  test(
    '(e) an anonymous request to the private repository is a 401 with a Basic challenge, from fetch and from the go command',
    async () => {
      const res = await call(`/go/private/${MOD}/@v/list`);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain('Basic realm="OrbitRepos"');
      const r = await download(await goEnv(`${server.url}/go/private/`));
      expect(r.code).not.toBe(0);
      expect(r.all).toContain('401 Unauthorized');
    },
    E2E_TIMEOUT,
  );

  test(
    '(f) a mistyped token in one go command run counts as one failed sign-in, however often the go command sends it',
    async () => {
      server.ctx.auth.throttle.reset();
      const host = new URL(server.url).host;
      const mistyped = `${aliceToken.slice(0, -3)}${aliceToken.endsWith('xyz') ? 'abc' : 'xyz'}`;
      const sent = basic('alice', mistyped);
      const spy = spyOn(server.ctx.auth, 'authenticate');
      const r = await download(await goEnv(`https://alice:${mistyped}@${host}/go/private/`));
      const tries = spy.mock.calls.filter(([creds]) => creds.authorization === sent).length;
      spy.mockRestore();
      expect(tries).toBeGreaterThan(1);
      expect(r.code).not.toBe(0);
      expect(r.all).toContain('401 Unauthorized');
      // The go command asked more than once (it retries every 4xx once), yet it is one mistake.
      expect(server.ctx.auth.throttle.failures(signInKey('alice', '127.0.0.1'))).toBe(1);
      expect(server.ctx.auth.throttle.failures(addressKey('127.0.0.1'))).toBe(1);
    },
    E2E_TIMEOUT,
  );

  test(
    '(c) once the token is revoked the go command fails with 401',
    async () => {
      await api('DELETE', `/tokens/${aliceTokenId}`, undefined, basic('alice', 'alice-password'));
      const host = new URL(server.url).host;
      const r = await download(await goEnv(`https://alice:${aliceToken}@${host}/go/private/`));
      expect(r.code).not.toBe(0);
      expect(r.all).toContain('401 Unauthorized');
      // The go command prints the URL it read without the userinfo; the secret must not show up anywhere.
      expect(r.all).not.toContain(aliceToken);
    },
    E2E_TIMEOUT,
  );
});

describe.skipIf(!haveTools)('why HTTPS', () => {
  // The reason docs/https.md exists: over plain HTTP the go command will not send credentials at all.
  test(
    'the go command refuses to send userinfo from an http GOPROXY',
    async () => {
      const server = await startTestServer();
      const env = await makeGoEnv({
        goproxy: `http://alice:secret-pw@${new URL(server.url).host}/go/private/`,
        extra: { GONOPROXY: 'none', GOPRIVATE: MOD },
      });
      try {
        const r = await runGo(['mod', 'download', '-json', `${MOD}@${VERSION}`], { env: env.env, cwd: env.work });
        expect(r.code).not.toBe(0);
        expect(r.stdout + r.stderr).toContain('refusing to pass credentials to insecure URL');
        expect(r.stdout + r.stderr).not.toContain('secret-pw');
        // HSTS over plain HTTP would mean nothing (browsers ignore it) and is not sent.
        expect((await fetch(`${server.url}/health`)).headers.get('strict-transport-security')).toBeNull();
      } finally {
        await env.cleanup();
        await server.stop();
      }
    },
    E2E_TIMEOUT,
  );

  test(
    'a server started as its own process serves HTTPS, and its port is read from the startup line',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'orbit-tls-'));
      const tls = makeTestCA(dir);
      const proc = await startServerProcess({ ORBITREPO_TLS_CERT_FILE: tls.certFile, ORBITREPO_TLS_KEY_FILE: tls.keyFile });
      try {
        expect(proc.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
        const res = await fetch(`${proc.url}/go/nowhere/example.test/m/@v/list`, {
          tls: { ca: readFileSync(tls.caCertFile, 'utf8') },
        } as RequestInit);
        expect(res.status).toBe(401); // no such repository, but an outsider is not told so
        const anon = await fetch(`${proc.url}/api/v1/users/me`, { tls: { ca: readFileSync(tls.caCertFile, 'utf8') } } as RequestInit);
        expect(anon.status).toBe(401);
      } finally {
        expect(await proc.stop()).toBe(0);
        rmSync(dir, { recursive: true, force: true });
      }
    },
    E2E_TIMEOUT,
  );
});
