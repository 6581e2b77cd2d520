import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { auditLog, moduleVersions, proxyCacheEntries } from '../../src/db/schema';
import { GC_LOCK_ID } from '../../src/lifecycle/blob-gc';
import type { BlobStore } from '../../src/storage/blob-store';
import { FsBlobStore } from '../../src/storage/fs-blob-store';
import { S3BlobStore } from '../../src/storage/s3-blob-store';
import { ADMIN_AUTH, basic, startTestApp, type TestApp } from '../support/app';
import { testDatabaseKinds } from '../support/db';
import { HANG_LIMIT_MS } from '../support/limits';
import { type S3rverHandle, startS3rver } from '../support/s3rver';
import { buildModuleZip } from '../support/zipbuild';

let s3: S3rverHandle;
beforeAll(async () => {
  s3 = await startS3rver();
}, HANG_LIMIT_MS);
afterAll(async () => {
  await s3?.stop();
});

const DAY = 24 * 60 * 60 * 1000;
const later = (ms: number) => new Date(Date.now() + ms);

async function blobCount(store: BlobStore): Promise<number> {
  let n = 0;
  for await (const _ of store.list('blobs/')) n++;
  return n;
}

const zipOf = (module: string, version: string, body = 'package x\n') =>
  buildModuleZip(module, version, { 'go.mod': `module ${module}\n\ngo 1.22\n`, 'x.go': body }) as Uint8Array<ArrayBuffer>;

const storages: [string, () => Promise<{ store: BlobStore; cleanup(): void }>][] = [
  [
    'filesystem',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'orbit-gc-'));
      return { store: new FsBlobStore(dir), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
    },
  ],
  [
    's3',
    async () => {
      const store = new S3BlobStore(await s3.newBucket());
      return { store, cleanup: () => store.destroy() };
    },
  ],
];

describe.each(testDatabaseKinds().flatMap((db) => storages.map(([name, make]) => [db, name, make] as const)))(
  'blob collection on %s with %s storage',
  (dbKind, _storageName, makeStore) => {
    let t: TestApp;
    let cleanupStore: () => void;
    beforeAll(async () => {
      const made = await makeStore();
      cleanupStore = made.cleanup;
      t = await startTestApp({ db: dbKind, storage: made.store, settings: { gcGraceSeconds: 0 } });
    }, HANG_LIMIT_MS);
    afterAll(async () => {
      await t?.close();
      cleanupStore?.();
    });

    const publish = async (repo: string, module: string, version: string, body?: string) => {
      const res = await t.request(`/go/${repo}/${module}/@v/${version}.zip`, {
        method: 'PUT',
        auth: ADMIN_AUTH,
        body: zipOf(module, version, body),
      });
      expect(res.status).toBe(201);
    };

    // The issue's own measurement: before collection existed it stayed 3 -> 3 -> 3.
    test('publishing two versions, deleting one, then the repository takes the blob count 3 -> 2 -> 0 once past the grace period', async () => {
      const m = 'example.com/gc/counted';
      expect((await t.api('POST', '/repositories', { name: 'counted', type: 'hosted' })).status).toBe(201);
      await publish('counted', m, 'v1.0.0', 'package x // one\n');
      await publish('counted', m, 'v1.1.0', 'package x // two\n');
      // Two zips and the go.mod they share.
      expect(await blobCount(t.storage)).toBe(3);

      expect((await t.api('DELETE', `/repositories/counted/modules/versions?module=${m}&version=v1.0.0`)).status).toBe(204);
      // Inside the grace period nothing goes: the zip of v1.0.0 is young.
      const early = await t.ctx.collector.run({ now: new Date(), graceMs: DAY });
      expect(early).toMatchObject({ ran: true, removed: 0, young: 1 });
      expect(await blobCount(t.storage)).toBe(3);

      const past = await t.ctx.collector.run({ now: later(DAY + 60_000), graceMs: DAY, actor: 'admin' });
      expect(past).toMatchObject({ ran: true, removed: 1 });
      expect(past.bytes).toBe(zipOf(m, 'v1.0.0', 'package x // one\n').byteLength);
      expect(await blobCount(t.storage)).toBe(2);
      // The surviving version is served whole.
      const zip = await t.request(`/go/counted/${m}/@v/v1.1.0.zip`, { auth: ADMIN_AUTH });
      expect(zip.status).toBe(200);
      expect(new Uint8Array(await zip.arrayBuffer())).toEqual(zipOf(m, 'v1.1.0', 'package x // two\n'));

      expect((await t.api('DELETE', '/repositories/counted')).status).toBe(204);
      const gone = await t.ctx.collector.run({ now: later(DAY + 60_000), graceMs: DAY, actor: 'admin' });
      expect(gone.removed).toBe(2);
      expect(await blobCount(t.storage)).toBe(0);

      const audits = await t.ctx.db.select().from(auditLog).where(eq(auditLog.action, 'lifecycle.gc'));
      expect(audits.map((a) => [a.actor, a.details.blobs])).toEqual([
        ['admin', 1],
        ['admin', 2],
      ]);
      expect(audits[0].details.bytes).toBe(past.bytes);
    });

    test('a blob shared by two repositories stays while either still refers to it', async () => {
      const m = 'example.com/gc/shared';
      for (const name of ['left', 'right']) expect((await t.api('POST', '/repositories', { name, type: 'hosted' })).status).toBe(201);
      await publish('left', m, 'v1.0.0');
      await publish('right', m, 'v1.0.0');
      expect(await blobCount(t.storage)).toBe(2);
      expect((await t.api('DELETE', '/repositories/left')).status).toBe(204);
      expect((await t.ctx.collector.run({ now: later(2 * DAY), graceMs: DAY })).removed).toBe(0);
      expect((await t.request(`/go/right/${m}/@v/v1.0.0.zip`, { auth: ADMIN_AUTH })).status).toBe(200);
      expect((await t.api('DELETE', '/repositories/right')).status).toBe(204);
      expect((await t.ctx.collector.run({ now: later(2 * DAY), graceMs: DAY })).removed).toBe(2);
    });

    test('a dry run through the API lists what would go with its size and removes nothing', async () => {
      const m = 'example.com/gc/dry';
      expect((await t.api('POST', '/repositories', { name: 'dry', type: 'hosted' })).status).toBe(201);
      await publish('dry', m, 'v1.0.0');
      expect((await t.api('DELETE', '/repositories/dry')).status).toBe(204);
      // This app's grace period is 0, so the blobs just orphaned already count.
      const res = await t.api('POST', '/maintenance/gc', { dryRun: true });
      expect(res.status).toBe(200);
      const report = await res.json();
      expect(report).toMatchObject({ ran: true, dryRun: true, removed: 2 });
      expect(report.blobs).toHaveLength(2);
      expect(report.bytes).toBe(report.blobs.reduce((n: number, b: { size: number }) => n + b.size, 0));
      expect(await blobCount(t.storage)).toBe(2);

      const real = await (await t.api('POST', '/maintenance/gc', {})).json();
      expect(real).toMatchObject({ ran: true, dryRun: false, removed: 2, bytes: report.bytes });
      expect(await blobCount(t.storage)).toBe(0);
    });

    test('only administrators may run the collector: anonymous is 401, a user 403', async () => {
      await t.ctx.users.create({ username: 'plain', password: 'plain-password-1' }, { username: 'test' });
      expect((await t.api('POST', '/maintenance/gc', { dryRun: true }, null)).status).toBe(401);
      expect((await t.api('POST', '/maintenance/gc', { dryRun: true }, basic('plain', 'plain-password-1'))).status).toBe(403);
      const bad = await t.api('POST', '/maintenance/gc', { dryRun: 'yes' });
      expect(bad.status).toBe(400);
      expect((await bad.json()).message).toContain('dryRun');
    });

    test('while another collector holds the lock a run does nothing and says so', async () => {
      const held = await t.ctx.database.withTryLock(GC_LOCK_ID, async () => {
        const inner = await t.ctx.collector.run({ now: later(2 * DAY), graceMs: DAY });
        const api = await (await t.api('POST', '/maintenance/gc', { dryRun: true })).json();
        return { inner, api };
      });
      expect(held.acquired).toBe(true);
      if (held.acquired) {
        expect(held.result.inner.ran).toBe(false);
        expect(held.result.api.ran).toBe(false);
      }
      expect((await t.ctx.collector.run({ dryRun: true })).ran).toBe(true);
    });

    test('expired remembered 404s and long-expired answers are pruned; fresh ones and recent stale answers stay', async () => {
      expect((await t.api('POST', '/repositories', { name: 'mirror', type: 'proxy', remoteUrl: 'http://127.0.0.1:9' })).status).toBe(201);
      const repo = await t.ctx.repositories.rowByName('mirror');
      const at = (ms: number) => sql`now() + ${ms} * interval '1 millisecond'`;
      const row = (key: string, status: number, expiresIn: number) => ({
        repositoryId: repo.id,
        key,
        status,
        body: new Uint8Array(0),
        expiresAt: at(expiresIn) as unknown as Date,
      });
      await t.ctx.db
        .insert(proxyCacheEntries)
        .values([
          row('missing:zip:a@v1.0.0', 404, -60_000),
          row('missing:zip:b@v1.0.0', 404, 60_000),
          row('list:recent', 200, -DAY),
          row('list:ancient', 200, -40 * DAY),
        ]);
      const dry = await t.ctx.collector.run({ dryRun: true });
      expect(dry.cacheRows).toBe(2);
      const real = await t.ctx.collector.run({});
      expect(real.cacheRows).toBe(2);
      const left = await t.ctx.db.select({ key: proxyCacheEntries.key }).from(proxyCacheEntries);
      expect(left.map((r) => r.key).sort()).toEqual(['list:recent', 'missing:zip:b@v1.0.0']);
    });

    // Writers race the collector in a loop: new content, and content identical to an orphaned blob old
    // enough to go (the writer's commit renews it). Every row must still find its blobs afterwards.
    test(
      'uploads racing collection runs lose nothing',
      async () => {
        const m = 'example.com/gc/race';
        expect((await t.api('POST', '/repositories', { name: 'race', type: 'hosted' })).status).toBe(201);
        const graceMs = 1500;
        for (let round = 0; round < 3; round++) {
          // Orphans from the previous round's versions: published, deleted, then left to age past the grace period.
          const orphans = [0, 1, 2].map((i) => `v1.${round}.${i}`);
          for (const v of orphans) await publish('race', m, v, `package x // ${v}\n`);
          for (const v of orphans)
            expect((await t.api('DELETE', `/repositories/race/modules/versions?module=${m}&version=${v}`)).status).toBe(204);
          await Bun.sleep(graceMs + 1100);
          const uploads = [
            // The orphans' own bytes again, and new content.
            ...orphans.map((v) => publish('race', m, v, `package x // ${v}\n`)),
            ...[0, 1, 2].map((i) => publish('race', m, `v0.${round}.${i}`, `package x // new ${i}\n`)),
          ];
          const runs = [t.ctx.collector.run({ graceMs }), Bun.sleep(1).then(() => t.ctx.collector.run({ graceMs }))];
          await Promise.all([...uploads, ...runs]);
          await t.ctx.collector.run({ graceMs });
          const rows = await t.ctx.db.select().from(moduleVersions).where(eq(moduleVersions.modulePath, m));
          for (const r of rows) {
            expect(await t.storage.head(r.zipKey!)).not.toBeNull();
            expect(await t.storage.head(r.modKey!)).not.toBeNull();
          }
        }
        // Its loop sleeps ~8 s by design: past bun's 5 s default when the file is run on its own.
      },
      HANG_LIMIT_MS,
    );
  },
);
