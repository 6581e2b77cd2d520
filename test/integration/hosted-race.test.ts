import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Elysia } from 'elysia';
import { type DatabaseHandle, openDatabase } from '../../src/db/open';
import { moduleVersions } from '../../src/db/schema';
import { Conflict } from '../../src/errors';
import { silentLogger } from '../../src/log';
import { createOrbitRepos } from '../../src/plugin';
import { insertVersionRow, isUniqueViolation, type NewVersionRow } from '../../src/repos/version-rows';
import { FsBlobStore } from '../../src/storage/fs-blob-store';
import { ADMIN_AUTH, ADMIN_PASSWORD, startTestApp, type TestApp } from '../support/app';
import { openTestDatabase, type TestDatabase, testDatabaseKinds } from '../support/db';
import { HANG_LIMIT_MS } from '../support/limits';
import { buildModuleZip as buildModuleZipLike } from '../support/zipbuild';

// zipbuild types its result Uint8Array<ArrayBufferLike>, which fetch bodies and toEqual will not take.
const buildModuleZip = (...args: Parameters<typeof buildModuleZipLike>) => buildModuleZipLike(...args) as Uint8Array<ArrayBuffer>;

const MOD = 'example.com/race/lib';
const zipOf = (i: number) => buildModuleZip(MOD, 'v1.0.0', { 'go.mod': `module ${MOD}\n`, 'lib.go': `package lib\n// writer ${i}\n` });

describe.each(testDatabaseKinds())('module_versions writes on %s', (dbKind) => {
  let t: TestApp;
  let row: NewVersionRow;
  beforeAll(async () => {
    t = await startTestApp({ db: dbKind });
    await t.api('POST', '/repositories', { name: 'rows', type: 'hosted' });
    const repo = await t.ctx.repositories.rowByName('rows');
    row = { repositoryId: repo.id, modulePath: MOD, version: 'v1.0.0', time: new Date(), origin: 'uploaded' };
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await t?.close();
  });

  // The pre-check in the upload path usually catches a second upload; this is the path that decides real races.
  test('inserting a version that exists is a Conflict decided by the unique index', async () => {
    await insertVersionRow(t.ctx.db, row);
    await expect(insertVersionRow(t.ctx.db, { ...row, h1: 'h1:other' })).rejects.toBeInstanceOf(Conflict);
  });

  test('the driver reports a unique violation in a shape isUniqueViolation recognises', async () => {
    const err = await t.ctx.db
      .insert(moduleVersions)
      .values(row)
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).not.toBeNull();
    expect(isUniqueViolation(err)).toBe(true);
    expect(isUniqueViolation(new Error('something else'))).toBe(false);
  });
});

const pgUrl = process.env.ORBITREPO_TEST_DATABASE_URL;
if (!pgUrl) console.warn('SKIPPED: two plugin instances racing on one PostgreSQL need ORBITREPO_TEST_DATABASE_URL');

describe.skipIf(!pgUrl)('two plugin instances sharing one PostgreSQL database and one storage root', () => {
  let db: TestDatabase;
  let second: DatabaseHandle;
  let dir: string;
  let apps: Elysia<any, any, any, any, any, any, any>[];
  beforeAll(async () => {
    db = await openTestDatabase('postgres');
    // Two connection pools, as two server processes would have.
    second = await openDatabase({ url: db.url, maxConnections: 5 });
    dir = mkdtempSync(join(tmpdir(), 'orbit-race-'));
    apps = [];
    for (const database of [db.handle, second]) {
      const orbit = await createOrbitRepos({
        database,
        storage: new FsBlobStore(dir),
        log: silentLogger,
        settings: { adminPassword: ADMIN_PASSWORD },
      });
      apps.push(new Elysia().use(orbit.plugin));
    }
    const res = await apps[0].handle(
      new Request('http://orbit.test/api/v1/repositories', {
        method: 'POST',
        headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'shared', type: 'hosted' }),
      }),
    );
    expect(res.status).toBe(201);
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await second?.close();
    await db?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('racing uploads of one version through both instances give one 201 and 409 for the rest', async () => {
    const statuses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        apps[i % 2]
          .handle(
            new Request(`http://orbit.test/go/shared/${MOD}/@v/v1.0.0.zip`, {
              method: 'PUT',
              headers: { authorization: ADMIN_AUTH },
              body: zipOf(i),
            }),
          )
          .then((r) => r.status),
      ),
    );
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(9);
    // Both instances serve the same winner.
    const [a, b] = await Promise.all(
      apps.map((app) =>
        app
          .handle(new Request(`http://orbit.test/go/shared/${MOD}/@v/v1.0.0.zip`, { headers: { authorization: ADMIN_AUTH } }))
          .then((r) => r.arrayBuffer()),
      ),
    );
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
  });
});
