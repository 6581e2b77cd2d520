import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_AUTH } from '../support/app';
import { createTestDatabaseUrl } from '../support/db';
import { HANG_LIMIT_MS } from '../support/limits';
import { type ServerProcess, startServerProcess } from '../support/server';
import { buildModuleZip as buildModuleZipLike } from '../support/zipbuild';

// zipbuild types its result Uint8Array<ArrayBufferLike>, which fetch bodies and toEqual will not take.
const buildModuleZip = (...args: Parameters<typeof buildModuleZipLike>) => buildModuleZipLike(...args) as Uint8Array<ArrayBuffer>;

const MOD = 'example.com/procs/lib';
const zipOf = (version: string, note: string) =>
  buildModuleZip(MOD, version, { 'go.mod': `module ${MOD}\n`, 'lib.go': `package lib\n// ${note}\n`, 'pad.txt': 'p'.repeat(300_000) });

const pgUrl = process.env.ORBITREPO_TEST_DATABASE_URL;
if (!pgUrl) console.warn('SKIPPED: hosted uploads across server processes need ORBITREPO_TEST_DATABASE_URL');

describe.skipIf(!pgUrl)('hosted uploads across separate server processes sharing PostgreSQL and storage', () => {
  let db: { url: string; drop(): Promise<void> };
  let storageDir: string;
  let procs: ServerProcess[] = [];
  const start = () => startServerProcess({ ORBITREPO_DATABASE_URL: db.url, ORBITREPO_STORAGE_PATH: storageDir });
  const put = (p: ServerProcess, version: string, body: BodyInit) =>
    fetch(`${p.url}/go/shared/${MOD}/@v/${version}.zip`, { method: 'PUT', headers: { authorization: ADMIN_AUTH }, body });

  beforeAll(async () => {
    db = await createTestDatabaseUrl();
    storageDir = mkdtempSync(join(tmpdir(), 'orbit-procs-'));
    procs = await Promise.all([start(), start()]);
    const res = await fetch(`${procs[0].url}/api/v1/repositories`, {
      method: 'POST',
      headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'shared', type: 'hosted', anonymousRead: true }),
    });
    expect(res.status).toBe(201);
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await db?.drop();
    if (storageDir) rmSync(storageDir, { recursive: true, force: true });
  }, HANG_LIMIT_MS);

  test('racing uploads of one version to two processes give exactly one 201 and 409 for the rest', async () => {
    const statuses = await Promise.all(
      Array.from({ length: 10 }, (_, i) => put(procs[i % 2], 'v1.0.0', zipOf('v1.0.0', `writer ${i}`)).then((r) => r.status)),
    );
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(9);
    const [a, b] = await Promise.all(procs.map((p) => fetch(`${p.url}/go/shared/${MOD}/@v/v1.0.0.zip`).then((r) => r.arrayBuffer())));
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
  });

  // The crash case: no cleanup code runs at all, so only the order of writes protects the repository.
  test('a server killed mid-upload leaves no visible version, and a retry on another process succeeds', async () => {
    const victim = await start();
    procs.push(victim);
    const zip = zipOf('v1.1.0', 'retry me');
    let sentHalf!: () => void;
    const halfSent = new Promise<void>((resolve) => (sentHalf = resolve));
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(zip.subarray(0, zip.byteLength >> 1));
        sentHalf();
        // The rest never comes: the server dies first.
      },
    });
    const upload = put(victim, 'v1.1.0', body).catch((err: unknown) => err);
    await halfSent;
    await Bun.sleep(300);
    process.kill(victim.pid, 'SIGKILL');
    expect(await upload).toBeInstanceOf(Error);
    await victim.stop();

    const survivor = procs[0];
    for (const file of ['v1.1.0.info', 'v1.1.0.zip']) expect((await fetch(`${survivor.url}/go/shared/${MOD}/@v/${file}`)).status).toBe(404);
    expect(await (await fetch(`${survivor.url}/go/shared/${MOD}/@v/list`)).text()).toBe('v1.0.0\n');
    expect((await put(survivor, 'v1.1.0', zip)).status).toBe(201);
    expect(new Uint8Array(await (await fetch(`${survivor.url}/go/shared/${MOD}/@v/v1.1.0.zip`)).arrayBuffer())).toEqual(zip);
    // Whatever the dead process had half-written is outside every key that is served.
    const leftovers = [...readdirSync(storageDir)].filter((d) => d !== 'blobs' && d !== 'tmp' && d !== '.partial');
    expect(leftovers).toEqual([]);
  });
});
