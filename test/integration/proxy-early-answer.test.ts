import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LogFields, silentLogger } from '../../src/log';
import type { BlobStore } from '../../src/storage/blob-store';
import { FsBlobStore } from '../../src/storage/fs-blob-store';
import { startTestApp, type TestApp } from '../support/app';
import { testDatabaseKinds } from '../support/db';
import { HANG_LIMIT_MS } from '../support/limits';
import { type StubUpstream, startStubUpstream } from '../support/stub-upstream';
import { stagedKeys, versionRow } from '../support/version-rows';

/**
 * A filesystem store whose staging writes can be held at a gate, and whose commits (the staged blob's move
 * to its content address) can be made to fail: what a proxy's client sees while its fill is still storing
 * what it fetched. (The gate is on staging, not on the move: the move runs inside the blob fence's
 * transaction, and on PGlite every query would wait behind it.)
 */
function gatedStore(inner: FsBlobStore): BlobStore & { hold(): () => void; failMoves: boolean } {
  let gate: Promise<void> | undefined;
  const store = Object.create(inner) as BlobStore & { hold(): () => void; failMoves: boolean };
  store.failMoves = false;
  store.hold = () => {
    const { promise, resolve } = Promise.withResolvers<void>();
    gate = promise;
    return () => {
      gate = undefined;
      resolve();
    };
  };
  store.put = async (key, body, opts) => {
    await gate;
    return inner.put(key, body, opts);
  };
  store.move = async (from, to) => {
    if (store.failMoves) throw new Error('disk full (test)');
    return inner.move(from, to);
  };
  return store;
}

describe.each(testDatabaseKinds())('a proxy answers a checked small file before it is stored, on %s', (dbKind) => {
  let t: TestApp;
  let stub: StubUpstream;
  let store: ReturnType<typeof gatedStore>;
  let n = 0;
  const warnings: { message: string; fields?: LogFields }[] = [];
  const fresh = () => {
    const module = `example.com/early/m${++n}`;
    const zip = new Uint8Array(stub.addModule(module, 'v1.0.0'));
    const p = stub.paths(module, 'v1.0.0');
    return { module, zip, p, url: (ext: string) => `/go/go-proxy/${module}/@v/v1.0.0.${ext}` };
  };
  const get = async (path: string) => {
    const res = await t.request(path);
    return { status: res.status, etag: res.headers.get('etag'), bytes: new Uint8Array(await res.arrayBuffer()) };
  };
  const row = (module: string) => versionRow(t, module);
  const staged = () => stagedKeys(t);

  beforeAll(async () => {
    stub = await startStubUpstream();
    store = gatedStore(new FsBlobStore(mkdtempSync(join(tmpdir(), 'orbit-early-'))));
    t = await startTestApp({
      db: dbKind,
      storage: store,
      log: { ...silentLogger, warn: (message, fields) => warnings.push({ message, fields }) },
    });
    // The stub's modules are made here: the checksum database is the stub's own (the server's default in tests).
    expect((await t.api('POST', '/repositories', { name: 'go-proxy', type: 'proxy', remoteUrl: stub.url })).status).toBe(201);
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await t?.close();
    await stub?.close();
  });

  test('.info, .mod and a small .zip reach their client while the commit is held; stored when it is let go, then served from storage', async () => {
    const m = fresh();
    const release = store.hold();
    try {
      const info = await get(m.url('info'));
      const mod = await get(m.url('mod'));
      const zip = await get(m.url('zip'));
      expect(JSON.parse(new TextDecoder().decode(info.bytes))).toEqual({ Version: 'v1.0.0', Time: '2024-01-02T03:04:05Z' });
      expect(new TextDecoder().decode(mod.bytes)).toBe(`module ${m.module}\n\ngo 1.21\n`);
      expect(zip.bytes).toEqual(m.zip);
      // The same validator the stored copy will have: the content's own hash.
      expect(zip.etag).toBe(`"sha256-${new Bun.CryptoHasher('sha256').update(m.zip).digest('hex')}"`);
      // Nothing is committed yet: no row points at any of the three.
      const before = await row(m.module);
      expect([before?.infoKey ?? null, before?.modKey ?? null, before?.zipKey ?? null]).toEqual([null, null, null]);
    } finally {
      release();
    }
    await t.ctx.coalescer.settled();
    const after = await row(m.module);
    expect(after?.infoKey && after.modKey && after.zipKey).toBeTruthy();
    expect(after?.zipSize).toBe(m.zip.byteLength);
    expect((await get(m.url('zip'))).bytes).toEqual(m.zip);
    expect([stub.count(m.p.info), stub.count(m.p.mod), stub.count(m.p.zip)]).toEqual([1, 1, 1]);
  });

  test('requests that join a fill still storing get the checked bytes too, from one upstream fetch', async () => {
    const m = fresh();
    const release = store.hold();
    try {
      const first = await get(m.url('mod'));
      const joined = await Promise.all([get(m.url('mod')), get(m.url('mod'))]);
      for (const got of [first, ...joined]) expect(new TextDecoder().decode(got.bytes)).toBe(`module ${m.module}\n\ngo 1.21\n`);
      const zips = await Promise.all([get(m.url('zip')), get(m.url('zip')), get(m.url('zip'))]);
      for (const got of zips) expect(got.bytes).toEqual(m.zip);
    } finally {
      release();
    }
    await t.ctx.coalescer.settled();
    expect([stub.count(m.p.mod), stub.count(m.p.zip)]).toEqual([1, 1]);
  });

  test('a commit that fails after the answer: the client had the good bytes, one warning, nothing stored, the next request fetches again', async () => {
    const m = fresh();
    const from = warnings.length;
    store.failMoves = true;
    try {
      expect(new TextDecoder().decode((await get(m.url('mod'))).bytes)).toBe(`module ${m.module}\n\ngo 1.21\n`);
      expect((await get(m.url('zip'))).bytes).toEqual(m.zip);
      await t.ctx.coalescer.settled();
    } finally {
      store.failMoves = false;
    }
    const said = warnings.slice(from).filter((w) => w.message.includes('answered but could not be stored'));
    expect(said.map((w) => w.fields?.kind).sort()).toEqual(['mod', 'zip']);
    expect(said.every((w) => w.fields?.module === m.module && String(w.fields?.err).includes('disk full'))).toBe(true);
    const none = await row(m.module);
    expect([none?.modKey ?? null, none?.zipKey ?? null]).toEqual([null, null]);
    expect(await staged()).toEqual([]);
    // Repaired: fetched again, stored this time.
    expect((await get(m.url('zip'))).bytes).toEqual(m.zip);
    await t.ctx.coalescer.settled();
    expect((await row(m.module))?.zipKey).toBeString();
    expect(stub.count(m.p.zip)).toBe(2);
  });

  test('a corrupt small zip is never answered early: a 502, nothing stored', async () => {
    const m = fresh();
    stub.fault(m.p.zip, { kind: 'corrupt' });
    const res = await get(m.url('zip'));
    expect(res.status).toBe(502);
    await t.ctx.coalescer.settled();
    expect((await row(m.module))?.zipKey ?? null).toBeNull();
    expect(await staged()).toEqual([]);
  });

  test('deleting a version waits for its fill still storing, so the delete is not undone by the row written after it', async () => {
    const m = fresh();
    const release = store.hold();
    expect((await get(m.url('info'))).status).toBe(200);
    const deleting = t.api('DELETE', `/repositories/go-proxy/modules/versions?module=${encodeURIComponent(m.module)}&version=v1.0.0`);
    await Bun.sleep(50);
    release();
    expect((await deleting).status).toBe(204);
    await t.ctx.coalescer.settled();
    expect(await row(m.module)).toBeUndefined();
  });
});
