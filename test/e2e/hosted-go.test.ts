import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { ADMIN_AUTH, ADMIN_PASSWORD } from '../support/app';
import { type GoEnv, type GoModDownload, goAvailable, makeGoEnv, parseJsonStream, runGo } from '../support/go';
import { HANG_LIMIT_MS } from '../support/limits';
import { startTestServer, type TestServer } from '../support/server';
import { buildModuleZip as buildModuleZipLike } from '../support/zipbuild';

// zipbuild types its result Uint8Array<ArrayBufferLike>, which fetch bodies and toEqual will not take.
const buildModuleZip = (...args: Parameters<typeof buildModuleZipLike>) => buildModuleZipLike(...args) as Uint8Array<ArrayBuffer>;

// Private module paths: nothing here resolves outside the test server.
const A = 'corp.example/greet';
const B = 'corp.example/banner';
const REPO = 'go-internal';

const greetZip = (version: string) =>
  buildModuleZip(A, version, {
    'go.mod': `module ${A}\n\ngo 1.21\n`,
    'greet.go': `package greet\n\n// Hello names the version, so the test can tell which one was built.\nfunc Hello() string { return "hello from greet ${version}" }\n`,
  });

const bannerZip = buildModuleZip(B, 'v0.1.0', {
  'go.mod': `module ${B}\n\ngo 1.21\n\nrequire ${A} v1.1.0\n`,
  'banner.go': `package banner\n\nimport "${A}"\n\nfunc Banner() string { return "*** " + greet.Hello() + " ***" }\n`,
});

const haveGo = goAvailable();
if (!haveGo) console.warn('SKIPPED: hosted e2e needs the go command on PATH');

describe.skipIf(!haveGo)('a hosted repository serves private modules to the real go command', () => {
  let server: TestServer;
  let go: GoEnv;
  const api = (method: string, path: string, body?: unknown) =>
    fetch(`${server.url}/api/v1${path}`, {
      method,
      headers: { authorization: ADMIN_AUTH, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  const goIn = (args: string[]) => runGo(args, { env: go.env, cwd: go.work, timeoutMs: 170_000 });
  const ok = async (args: string[]) => {
    const r = await goIn(args);
    if (r.code !== 0) throw new Error(`go ${args.join(' ')} failed (${r.code}):\n${r.stderr}`);
    return r;
  };

  beforeAll(async () => {
    server = await startTestServer();
    expect((await api('POST', '/repositories', { name: REPO, type: 'hosted', anonymousRead: true })).status).toBe(201);
    go = await makeGoEnv({
      goproxy: `${server.url}/go/${REPO}/`,
      // GOPRIVATE keeps the paths away from any checksum database; GONOPROXY=none still sends them to our proxy.
      extra: { GOPRIVATE: 'corp.example', GONOSUMDB: 'corp.example', GONOPROXY: 'none', GOFLAGS: '-mod=mod -modcacherw' },
    });
    await Bun.write(join(go.work, 'go.mod'), 'module consumer\n\ngo 1.21\n');
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await go?.cleanup();
    await server?.stop();
  });

  test('the documented curl --upload-file command publishes a version with 201', async () => {
    const file = join(go.root, 'greet-v1.0.0.zip');
    await Bun.write(file, greetZip('v1.0.0'));
    const curl = Bun.spawn(
      [
        'curl',
        '-sS',
        '-u',
        `admin:${ADMIN_PASSWORD}`,
        '--upload-file',
        file,
        '-w',
        '\n%{http_code}',
        `${server.url}/go/${REPO}/${A}/@v/v1.0.0.zip`,
      ],
      { stdout: 'pipe', stderr: 'pipe' },
    );
    const out = await new Response(curl.stdout).text();
    expect(await curl.exited).toBe(0);
    const [body, status] = out.trim().split('\n');
    expect(status).toBe('201');
    expect(JSON.parse(body)).toMatchObject({ module: A, version: 'v1.0.0', created: true });
  });

  test('the other versions and the dependent module are published over HTTP', async () => {
    for (const [module, version, zip] of [
      [A, 'v1.1.0', greetZip('v1.1.0')],
      [B, 'v0.1.0', bannerZip],
    ] as const) {
      const res = await fetch(`${server.url}/go/${REPO}/${module}/@v/${version}.zip`, {
        method: 'PUT',
        headers: { authorization: ADMIN_AUTH },
        body: zip,
      });
      expect(res.status).toBe(201);
    }
  });

  test('over a real socket, HEAD keeps the Content-Length and a Range is a 206', async () => {
    const zip = greetZip('v1.1.0');
    const url = `${server.url}/go/${REPO}/${A}/@v/v1.1.0.zip`;
    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(zip.byteLength));
    const part = await fetch(url, { headers: { range: 'bytes=-22' } });
    expect(part.status).toBe(206);
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(zip.subarray(zip.byteLength - 22));
  });

  test('go get A@v1.0.0 and then A@latest resolve through the repository', async () => {
    await ok(['get', `${A}@v1.0.0`]);
    expect(await Bun.file(join(go.work, 'go.mod')).text()).toContain(`${A} v1.0.0`);
    await ok(['get', `${A}@latest`]);
    expect(await Bun.file(join(go.work, 'go.mod')).text()).toContain(`${A} v1.1.0`);
  }, 180_000);

  test('go list -m -versions shows both published versions', async () => {
    const r = await ok(['list', '-m', '-versions', A]);
    expect(r.stdout.trim()).toBe(`${A} v1.0.0 v1.1.0`);
  }, 180_000);

  test('a program using A and B builds and runs', async () => {
    await Bun.write(
      join(go.work, 'main.go'),
      `package main\n\nimport (\n\t"fmt"\n\n\t"${A}"\n\t"${B}"\n)\n\nfunc main() {\n\tfmt.Println(greet.Hello())\n\tfmt.Println(banner.Banner())\n}\n`,
    );
    await ok(['get', `${B}@v0.1.0`]);
    await ok(['build', '-o', join(go.root, 'consumer'), '.']);
    const r = await ok(['run', '.']);
    expect(r.stdout).toBe('hello from greet v1.1.0\n*** hello from greet v1.1.0 ***\n');
  }, 180_000);

  test('go mod download reports the same Sum and GoModSum that the admin API shows', async () => {
    const r = await ok(['mod', 'download', '-json', `${A}@v1.1.0`]);
    const [dl] = parseJsonStream<GoModDownload>(r.stdout);
    expect(dl.Error).toBeUndefined();
    const versions = await (await api('GET', `/repositories/${REPO}/modules/versions?module=${encodeURIComponent(A)}`)).json();
    const shown = versions.find((v: { version: string }) => v.version === 'v1.1.0');
    expect(dl.Sum).toBe(shown.h1);
    expect(dl.GoModSum).toBe(shown.goModH1);
  }, 180_000);

  test('a version the repository does not have is reported by the go command as not found', async () => {
    const r = await goIn(['mod', 'download', '-json', `${A}@v1.5.0`]);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/404 Not Found|not found/);
  }, 180_000);
});
