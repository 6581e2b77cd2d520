import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { S3BlobStore } from '../../src/storage/s3-blob-store';
import { ADMIN_AUTH, startTestApp, type TestApp } from '../support/app';
import { testDatabaseKinds } from '../support/db';
import { HANG_LIMIT_MS } from '../support/limits';
import { type S3rverHandle, startS3rver } from '../support/s3rver';
import { buildModuleZip } from '../support/zipbuild';

// The rest of the suite serves from the filesystem; this runs the publish-and-serve path on S3 for every database driver.
let s3: S3rverHandle;
beforeAll(async () => {
  s3 = await startS3rver();
}, HANG_LIMIT_MS);
afterAll(async () => {
  await s3?.stop();
});

describe.each(testDatabaseKinds())('publishing and serving on S3 storage with %s', (dbKind) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ db: dbKind, storage: new S3BlobStore(await s3.newBucket()) });
    expect((await t.api('POST', '/repositories', { name: 'on-s3', type: 'hosted', anonymousRead: true })).status).toBe(201);
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await t?.close();
  });

  const mod = 'example.com/s3/mod';
  const zip = buildModuleZip(mod, 'v1.0.0', { 'go.mod': `module ${mod}\n\ngo 1.21\n`, 'a.go': 'package mod\n' });

  test('an uploaded version is listed and its zip, go.mod and info come back from S3', async () => {
    const put = await t.request(`/go/on-s3/${mod}/@v/v1.0.0.zip`, { method: 'PUT', auth: ADMIN_AUTH, body: zip });
    expect(put.status).toBe(201);
    expect(await (await t.request(`/go/on-s3/${mod}/@v/list`)).text()).toBe('v1.0.0\n');
    const got = await t.request(`/go/on-s3/${mod}/@v/v1.0.0.zip`);
    expect(got.status).toBe(200);
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(zip);
    expect(await (await t.request(`/go/on-s3/${mod}/@v/v1.0.0.mod`)).text()).toBe(`module ${mod}\n\ngo 1.21\n`);
    expect(JSON.parse(await (await t.request(`/go/on-s3/${mod}/@v/v1.0.0.info`)).text()).Version).toBe('v1.0.0');
  });

  test('a range of the zip is served from S3 as 206', async () => {
    const res = await t.request(`/go/on-s3/${mod}/@v/v1.0.0.zip`, { headers: { range: 'bytes=0-3' } });
    expect(res.status).toBe(206);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(zip.slice(0, 4));
  });

  test('readiness reports the S3 backend as answering', async () => {
    expect((await t.request('/ready')).status).toBe(200);
  });
});
