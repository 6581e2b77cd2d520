import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BlobStore } from '../../src/storage/blob-store';
import { FsBlobStore } from '../../src/storage/fs-blob-store';
import { ADMIN_AUTH, basic, startTestApp, type TestApp } from '../support/app';
import { testDatabaseKinds } from '../support/db';
import { HANG_LIMIT_MS } from '../support/limits';
import { buildModuleZip as buildModuleZipLike } from '../support/zipbuild';

// zipbuild types its result Uint8Array<ArrayBufferLike>, which fetch bodies and toEqual will not take.
const buildModuleZip = (...args: Parameters<typeof buildModuleZipLike>) => buildModuleZipLike(...args) as Uint8Array<ArrayBuffer>;

const MOD = 'example.com/Serve/lib';
const ESC = 'example.com/!serve/lib';
const IMMUTABLE = 'public, max-age=31536000, immutable';
const SHORT = 'public, max-age=60';

/** A store that counts every call, to prove that misses are answered from the database alone. */
function countingStore(inner: BlobStore): BlobStore & { calls: number } {
  const counted = { calls: 0 } as BlobStore & { calls: number };
  for (const method of ['get', 'head', 'put', 'move', 'delete', 'list', 'check'] as const) {
    (counted as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
      counted.calls++;
      return (inner[method] as (...a: unknown[]) => unknown).apply(inner, args);
    };
  }
  return counted;
}

describe.each(testDatabaseKinds())('serving a hosted repository on %s', (dbKind) => {
  let t: TestApp;
  let dir: string;
  let store: ReturnType<typeof countingStore>;
  let zip: Uint8Array<ArrayBuffer>;
  const get = (path: string, headers: Record<string, string> = {}, method = 'GET') => t.request(`/go/pub/${path}`, { method, headers });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'orbit-serve-'));
    store = countingStore(new FsBlobStore(dir));
    t = await startTestApp({ db: dbKind, storage: store });
    expect((await t.api('POST', '/repositories', { name: 'pub', type: 'hosted', anonymousRead: true })).status).toBe(201);
    const publish = async (version: string, extra = '') => {
      const body = buildModuleZip(MOD, version, {
        'go.mod': `module ${MOD}\n\ngo 1.21\n`,
        'lib.go': `package lib\n// ${version}${extra}\n`,
      });
      const res = await t.request(`/go/pub/${ESC}/@v/${version}.zip`, { method: 'PUT', body, auth: ADMIN_AUTH });
      expect(res.status).toBe(201);
      return body;
    };
    zip = await publish('v1.0.0', 'x'.repeat(5000));
    await publish('v1.1.0');
    await publish('v1.2.0-rc.1');
    await publish('v1.2.1-0.20240102030405-abcdefabcdef');
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('@v/list names the tagged versions in order, without pseudo-versions, with a short cache life', async () => {
    const res = await get(`${ESC}/@v/list`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('v1.0.0\nv1.1.0\nv1.2.0-rc.1\n');
    expect(res.headers.get('content-type')).toStartWith('text/plain');
    expect(res.headers.get('cache-control')).toBe(SHORT);
  });

  test('@latest answers the highest release, not a newer prerelease or pseudo-version', async () => {
    const res = await get(`${ESC}/@latest`);
    expect(res.headers.get('cache-control')).toBe(SHORT);
    expect(res.headers.get('content-type')).toStartWith('application/json');
    const info = await res.json();
    expect(info.Version).toBe('v1.1.0');
    expect(info.Time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  test('.info, .mod and .zip have their content types and an immutable cache life', async () => {
    const info = await get(`${ESC}/@v/v1.0.0.info`);
    expect(info.headers.get('content-type')).toStartWith('application/json');
    expect(info.headers.get('cache-control')).toBe(IMMUTABLE);
    const mod = await get(`${ESC}/@v/v1.0.0.mod`);
    expect(mod.headers.get('content-type')).toStartWith('text/plain');
    expect(mod.headers.get('cache-control')).toBe(IMMUTABLE);
    expect(mod.headers.get('etag')).toMatch(/^"sha256-[0-9a-f]{64}"$/);
    expect(await mod.text()).toBe(`module ${MOD}\n\ngo 1.21\n`);
    const z = await get(`${ESC}/@v/v1.0.0.zip`);
    expect(z.headers.get('content-type')).toBe('application/zip');
    expect(z.headers.get('content-length')).toBe(String(zip.byteLength));
    expect(z.headers.get('etag')).toBe(`"sha256-${new Bun.CryptoHasher('sha256').update(zip).digest('hex')}"`);
    expect(z.headers.get('accept-ranges')).toBe('bytes');
    expect(new Uint8Array(await z.arrayBuffer())).toEqual(zip);
  });

  test('HEAD gives the headers of GET and no body', async () => {
    const res = await get(`${ESC}/@v/v1.0.0.zip`, {}, 'HEAD');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(zip.byteLength));
    expect(res.headers.get('etag')).toStartWith('"sha256-');
    expect((await res.arrayBuffer()).byteLength).toBe(0);
    const list = await get(`${ESC}/@v/list`, {}, 'HEAD');
    expect(list.status).toBe(200);
    expect((await list.arrayBuffer()).byteLength).toBe(0);
  });

  test('a matching If-None-Match is a 304 without a body', async () => {
    const etag = (await get(`${ESC}/@v/v1.0.0.zip`, {}, 'HEAD')).headers.get('etag')!;
    const res = await get(`${ESC}/@v/v1.0.0.zip`, { 'if-none-match': `"other", ${etag}` });
    expect(res.status).toBe(304);
    expect((await res.arrayBuffer()).byteLength).toBe(0);
    const miss = await get(`${ESC}/@v/v1.0.0.zip`, { 'if-none-match': '"other"' });
    expect(miss.status).toBe(200);
    await miss.arrayBuffer();
  });

  test.each([
    ['a closed range', 'bytes=0-99', 0, 99],
    ['an open-ended range', 'bytes=100-', 100, -1],
    ['a suffix range', 'bytes=-50', -50, -1],
    ['a range past the end, clamped', 'bytes=10-999999999', 10, -1],
  ])('%s is a 206 with the right slice and Content-Range', async (_, range, start, end) => {
    const res = await get(`${ESC}/@v/v1.0.0.zip`, { range });
    expect(res.status).toBe(206);
    const from = start < 0 ? zip.byteLength + start : start;
    const to = end < 0 ? zip.byteLength - 1 : end;
    expect(res.headers.get('content-range')).toBe(`bytes ${from}-${to}/${zip.byteLength}`);
    expect(res.headers.get('content-length')).toBe(String(to - from + 1));
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(zip.subarray(from, to + 1));
  });

  test('a range starting past the end is a 416 naming the size', async () => {
    const res = await get(`${ESC}/@v/v1.0.0.zip`, { range: `bytes=${zip.byteLength}-` });
    expect(res.status).toBe(416);
    expect(res.headers.get('content-range')).toBe(`bytes */${zip.byteLength}`);
  });

  test('If-Range with a stale validator serves the whole file', async () => {
    const res = await get(`${ESC}/@v/v1.0.0.zip`, { range: 'bytes=0-9', 'if-range': '"sha256-stale"' });
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBe(zip.byteLength);
  });

  test.each([
    ['list of an unknown module', 'example.com/nope/@v/list'],
    ['@latest of an unknown module', 'example.com/nope/@latest'],
    ['info of a path prefix the go command probes', 'example.com/!serve/@v/list'],
    ['info of an unknown version', `${ESC}/@v/v1.9.9.info`],
    ['mod of an unknown version', `${ESC}/@v/v1.9.9.mod`],
    ['zip of an unknown version', `${ESC}/@v/v1.9.9.zip`],
  ])('the %s is a 404 with one line of text, answered without touching storage', async (_, path) => {
    const before = store.calls;
    const res = await get(path);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toStartWith('text/plain');
    const text = await res.text();
    expect(text).toEndWith('\n');
    expect(text.trimEnd()).not.toContain('\n');
    expect(store.calls).toBe(before);
  });

  test('the .zip and .info of a version are answered from the database until the body is sent', async () => {
    const before = store.calls;
    await get(`${ESC}/@v/v1.0.0.info`);
    await get(`${ESC}/@v/v1.0.0.zip`, {}, 'HEAD');
    expect(store.calls).toBe(before);
  });

  test('reading needs credentials unless the repository allows anonymous reads', async () => {
    expect((await t.api('POST', '/repositories', { name: 'closed', type: 'hosted' })).status).toBe(201);
    expect((await t.request(`/go/closed/${ESC}/@v/list`)).status).toBe(401);
    expect((await t.request(`/go/closed/${ESC}/@v/list`, { auth: ADMIN_AUTH })).status).toBe(404);
  });

  // An outsider must not tell a malformed path (400) or an unknown repository (404) from a private one:
  // both would leak names, and a 404 lets the go command fall through to the next GOPROXY entry.
  test.each([
    ['an unknown repository', '/go/no-such-repo/example.com/a/@v/list'],
    ['a malformed path in a private repository', '/go/closed/not a module path/@v/list'],
    ['a checksum database path of a private repository', '/go/closed/sumdb/sum.example/supported'],
  ])('anonymous requests for %s are a 401, never a 400 or 404', async (_what, path) => {
    const res = await t.request(path);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('Basic');
  });

  test('a user who is not an administrator gets a 403 for an unknown repository, an administrator a 404', async () => {
    expect((await t.api('POST', '/users', { username: 'nosy', password: 'nosy-password-1' })).status).toBe(201);
    expect((await t.request('/go/no-such-repo/example.com/a/@v/list', { auth: basic('nosy', 'nosy-password-1') })).status).toBe(403);
    expect((await t.request('/go/no-such-repo/example.com/a/@v/list', { auth: ADMIN_AUTH })).status).toBe(404);
  });

  test('answers of a private repository are cacheable only privately, never by a shared cache', async () => {
    const put = await t.request(`/go/closed/${ESC}/@v/v1.0.0.zip`, { method: 'PUT', body: zip, auth: ADMIN_AUTH });
    expect(put.status).toBe(201);
    for (const [file, cache] of [
      ['@v/list', 'private, max-age=60'],
      ['@v/v1.0.0.info', 'private, max-age=31536000, immutable'],
      ['@v/v1.0.0.zip', 'private, max-age=31536000, immutable'],
    ]) {
      expect((await t.request(`/go/closed/${ESC}/${file}`, { auth: ADMIN_AUTH })).headers.get('cache-control')).toBe(cache);
    }
  });

  test('a repository that lets versions be replaced never calls them immutable', async () => {
    expect(
      (await t.api('POST', '/repositories', { name: 'mutable', type: 'hosted', anonymousRead: true, writePolicy: 'allow' })).status,
    ).toBe(201);
    expect((await t.request(`/go/mutable/${ESC}/@v/v1.0.0.zip`, { method: 'PUT', body: zip, auth: ADMIN_AUTH })).status).toBe(201);
    for (const file of ['@v/v1.0.0.info', '@v/v1.0.0.mod', '@v/v1.0.0.zip']) {
      expect((await t.request(`/go/mutable/${ESC}/${file}`)).headers.get('cache-control')).toBe(SHORT);
    }
  });
});
