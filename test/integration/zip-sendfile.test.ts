import { afterAll, beforeAll, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blobKeyFor } from '../../src/storage/content-addressed';
import { FsBlobStore } from '../../src/storage/fs-blob-store';
import { ADMIN_AUTH } from '../support/app';
import { HANG_LIMIT_MS } from '../support/limits';
import { startTestServer, type TestServer } from '../support/server';
import { buildModuleZip } from '../support/zipbuild';

// A zip in the filesystem store goes out as a file Bun sends itself (sendfile), not as a stream through
// JS: the same answers, the same download counts, and a blob removed under the reader neither crashes
// the server nor leaves the client hanging. Over the real server (its fast path and Bun's error handler).
const MOD = 'example.com/sendfile/lib';
const zipOf = (version: string, extra: Uint8Array) =>
  buildModuleZip(MOD, version, { 'go.mod': `module ${MOD}\n`, 'x.go': 'package lib\n', 'data.bin': extra });
const ZIPS = {
  'v1.0.0': zipOf('v1.0.0', new Uint8Array(randomBytes(300 * 1024))),
  /** Its blob is removed between the store's stat and Bun's open (over 64 KiB: a smaller zip is served from memory). */
  'v1.1.0': zipOf('v1.1.0', new Uint8Array(randomBytes(100 * 1024))),
  /** Small enough to be kept in memory once read. */
  'v1.3.0': zipOf('v1.3.0', new Uint8Array(randomBytes(1024))),
  /** Its blob is removed while it is being sent. */
  'v1.2.0': zipOf('v1.2.0', new Uint8Array(randomBytes(8 << 20))),
};
const url = (version: string) => `${server.url}/go/files/${MOD}/@v/${version}.zip`;
const keyOf = (zip: Uint8Array) => blobKeyFor(new Bun.CryptoHasher('sha256').update(zip).digest('hex'));

let server: TestServer;
let root: string;
let streamedGets = 0;
let blobGets = 0;
/** The next getBlob of this key removes the file right after its stat, as the blob collector could. */
let removeAfterStat: string | undefined;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'orbit-sendfile-'));
  const fs = new FsBlobStore(root);
  const store = Object.assign(Object.create(fs) as FsBlobStore, {
    get: (...args: Parameters<FsBlobStore['get']>) => {
      if (args[0].startsWith('blobs/')) streamedGets++;
      return fs.get(...args);
    },
    getBlob: (key: string) => {
      blobGets++;
      const blob = fs.getBlob(key);
      if (blob && key === removeAfterStat) {
        removeAfterStat = undefined;
        unlinkSync(join(root, ...key.split('/')));
      }
      return blob;
    },
  });
  server = await startTestServer({ store });
  const made = await fetch(`${server.url}/api/v1/repositories`, {
    method: 'POST',
    headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'files', type: 'hosted', anonymousRead: true }),
  });
  expect(made.status).toBe(201);
  for (const [version, zip] of Object.entries(ZIPS)) {
    expect((await fetch(url(version), { method: 'PUT', headers: { authorization: ADMIN_AUTH }, body: zip })).status).toBe(201);
  }
}, HANG_LIMIT_MS);
/** Downloads of a version, as the admin API says once this process's counts are written. */
async function count(version = 'v1.0.0'): Promise<number> {
  await server.ctx.downloads.flush();
  const res = await fetch(`${server.url}/api/v1/repositories/files/modules/versions?module=${MOD}`, {
    headers: { authorization: ADMIN_AUTH },
  });
  return ((await res.json()) as { version: string; downloads: number }[]).find((v) => v.version === version)!.downloads;
}

afterAll(async () => {
  await server?.stop();
  await rm(root, { recursive: true, force: true });
});

test('a GET sends the stored zip whole, with its length and ETag and no file name, without a stream', async () => {
  streamedGets = 0;
  const res = await fetch(url('v1.0.0'));
  expect(res.status).toBe(200);
  expect(Buffer.compare(Buffer.from(await res.arrayBuffer()), Buffer.from(ZIPS['v1.0.0']))).toBe(0);
  expect(res.headers.get('content-length')).toBe(String(ZIPS['v1.0.0'].byteLength));
  expect(res.headers.get('etag')).toMatch(/^"sha256-[0-9a-f]{64}"$/);
  expect(res.headers.get('content-type')).toBe('application/zip');
  expect(res.headers.get('content-disposition')).toBe('inline');
  expect(streamedGets).toBe(0);
});

test('a Range sends that slice, and HEAD the headers of the GET', async () => {
  const zip = ZIPS['v1.0.0'];
  const part = await fetch(url('v1.0.0'), { headers: { range: 'bytes=1000-1999' } });
  expect([part.status, part.headers.get('content-range'), part.headers.get('content-length')]).toEqual([
    206,
    `bytes 1000-1999/${zip.byteLength}`,
    '1000',
  ]);
  expect(Buffer.compare(Buffer.from(await part.arrayBuffer()), Buffer.from(zip.subarray(1000, 2000)))).toBe(0);
  const get = await fetch(url('v1.0.0'));
  await get.arrayBuffer();
  const head = await fetch(url('v1.0.0'), { method: 'HEAD' });
  for (const h of ['content-length', 'etag', 'content-type', 'accept-ranges', 'cache-control', 'content-disposition']) {
    expect([h, head.headers.get(h)]).toEqual([h, get.headers.get(h)]);
  }
  expect(await head.text()).toBe('');
  expect(streamedGets).toBe(0);
});

test('a full GET counts as a download, a HEAD or a range from the middle does not', async () => {
  const before = await count();
  await (await fetch(url('v1.0.0'))).arrayBuffer();
  await (await fetch(url('v1.0.0'), { method: 'HEAD' })).arrayBuffer();
  await (await fetch(url('v1.0.0'), { headers: { range: 'bytes=10-20' } })).arrayBuffer();
  await (await fetch(url('v1.0.0'), { headers: { range: 'bytes=0-20' } })).arrayBuffer();
  expect((await count()) - before).toBe(2);
});

test('a blob removed between its stat and the send is a 503 to retry, and the server goes on', async () => {
  removeAfterStat = keyOf(ZIPS['v1.1.0']);
  const res = await fetch(url('v1.1.0'), { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  expect(removeAfterStat).toBeUndefined();
  expect(res.status).toBe(503);
  expect(res.headers.get('retry-after')).toBe('1');
  expect(text).toBe('the file was removed while it was being sent; try again\n');
  expect(text).not.toContain(root);
  const again = await fetch(url('v1.0.0'));
  expect([again.status, (await again.arrayBuffer()).byteLength]).toEqual([200, ZIPS['v1.0.0'].byteLength]);
  expect((await fetch(`${server.url}/health`)).status).toBe(200);
});

// Opening and sending a stored file costs a warm answer several times what the rest does; a small zip cannot change.
test('a zip of at most 64 KiB is read from storage once, then sent from memory, each send a download', async () => {
  const zip = ZIPS['v1.3.0'];
  const before = { streamed: streamedGets, blobs: blobGets, count: await count('v1.3.0') };
  const bodies = [];
  for (let i = 0; i < 3; i++) {
    const res = await fetch(url('v1.3.0'));
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe(`"sha256-${new Bun.CryptoHasher('sha256').update(zip).digest('hex')}"`);
    bodies.push(Buffer.from(await res.arrayBuffer()));
  }
  for (const body of bodies) expect(Buffer.compare(body, Buffer.from(zip))).toBe(0);
  expect(streamedGets - before.streamed).toBe(1);
  expect(blobGets - before.blobs).toBe(0);
  expect((await count('v1.3.0')) - before.count).toBe(3);
});

test('a blob removed while it is being sent still goes out whole: the open file outlives its name', async () => {
  const zip = ZIPS['v1.2.0'];
  const res = await fetch(url('v1.2.0'), { signal: AbortSignal.timeout(30_000) });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const chunks: Uint8Array[] = [];
  const first = await reader.read();
  chunks.push(first.value!);
  await rm(join(root, ...keyOf(zip).split('/')));
  for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(r.value);
  expect(Buffer.compare(Buffer.concat(chunks), Buffer.from(zip))).toBe(0);
});
