import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { ADMIN_AUTH, basic, startTestApp, type TestApp } from '../support/app';
import { testDatabaseKinds } from '../support/db';
import { HANG_LIMIT_MS } from '../support/limits';
import { buildModuleZip as buildModuleZipLike, buildZip as buildZipLike } from '../support/zipbuild';

// zipbuild types its result Uint8Array<ArrayBufferLike>, which fetch bodies and toEqual will not take.
const buildModuleZip = (...args: Parameters<typeof buildModuleZipLike>) => buildModuleZipLike(...args) as Uint8Array<ArrayBuffer>;
const buildZip = (...args: Parameters<typeof buildZipLike>) => buildZipLike(...args) as Uint8Array<ArrayBuffer>;

const MOD = 'example.com/acme/widget';
const goMod = (path = MOD) => `module ${path}\n\ngo 1.21\n`;
const zipOf = (module: string, version: string, files: Record<string, string> = { 'go.mod': goMod(module), 'w.go': 'package widget\n' }) =>
  buildModuleZip(module, version, files);

async function keysUnder(t: TestApp, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const k of t.storage.list(prefix)) keys.push(k);
  return keys;
}

describe.each(testDatabaseKinds())('uploading to a hosted repository on %s', (dbKind) => {
  let t: TestApp;
  const put = (path: string, body: BodyInit | null, auth: string | null = ADMIN_AUTH) =>
    t.request(`/go/${path}`, { method: 'PUT', body, auth, duplex: 'half' } as RequestInit & { auth: string | null });

  beforeAll(async () => {
    t = await startTestApp({ db: dbKind });
    for (const [name, writePolicy] of [
      ['hosted', 'allow_once'],
      ['mutable', 'allow'],
      ['frozen', 'deny'],
    ] as const) {
      expect((await t.api('POST', '/repositories', { name, type: 'hosted', writePolicy })).status).toBe(201);
    }
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await t?.close();
  });

  test('a valid zip is published with 201, and its .info, .mod, .zip and list appear', async () => {
    const zip = zipOf(MOD, 'v1.0.0');
    const res = await put(`hosted/${MOD}/@v/v1.0.0.zip`, zip);
    expect(res.status).toBe(201);
    const body = await res.json();
    expect(body).toMatchObject({ module: MOD, version: 'v1.0.0', created: true, size: zip.byteLength });
    expect(body.h1).toStartWith('h1:');

    const info = await t.request(`/go/hosted/${MOD}/@v/v1.0.0.info`, { auth: ADMIN_AUTH });
    expect(info.headers.get('content-type')).toStartWith('application/json');
    const parsed = await info.json();
    expect(parsed.Version).toBe('v1.0.0');
    expect(Math.abs(Date.parse(parsed.Time) - Date.now())).toBeLessThan(60_000);
    expect(await (await t.request(`/go/hosted/${MOD}/@v/v1.0.0.mod`, { auth: ADMIN_AUTH })).text()).toBe(goMod());
    expect(new Uint8Array(await (await t.request(`/go/hosted/${MOD}/@v/v1.0.0.zip`, { auth: ADMIN_AUTH })).arrayBuffer())).toEqual(zip);
    expect(await (await t.request(`/go/hosted/${MOD}/@v/list`, { auth: ADMIN_AUTH })).text()).toBe('v1.0.0\n');
    // Nothing staged is left behind once the version is stored.
    expect(await keysUnder(t, 'tmp/')).toEqual([]);
  });

  test('a zip without go.mod gets the one-line go.mod the go command would synthesise', async () => {
    const res = await put(`hosted/example.com/legacy/@v/v1.0.0.zip`, zipOf('example.com/legacy', 'v1.0.0', { 'l.go': 'package legacy\n' }));
    expect(res.status).toBe(201);
    expect(await (await t.request('/go/hosted/example.com/legacy/@v/v1.0.0.mod', { auth: ADMIN_AUTH })).text()).toBe(
      'module example.com/legacy\n',
    );
  });

  test.each([
    ['a file that is not a zip', `${MOD}/@v/v2.0.0-bad.zip`, () => new TextEncoder().encode('not a zip at all')],
    ['a zip whose prefix names another module', `${MOD}/@v/v1.2.0.zip`, () => zipOf('example.com/other', 'v1.2.0')],
    ['a zip whose prefix names another version', `${MOD}/@v/v1.2.0.zip`, () => zipOf(MOD, 'v1.3.0')],
    ['a go.mod without a module directive', `${MOD}/@v/v1.2.0.zip`, () => zipOf(MOD, 'v1.2.0', { 'go.mod': 'go 1.21\n' })],
    ['a version with build metadata', `${MOD}/@v/v1.2.0+meta.zip`, () => zipOf(MOD, 'v1.2.0+meta')],
    ['a shorthand version', `${MOD}/@v/v1.2.zip`, () => zipOf(MOD, 'v1.2')],
    ['a version without the v', `${MOD}/@v/1.2.0.zip`, () => zipOf(MOD, '1.2.0')],
    ['a v2 version of a path without /v2', `${MOD}/@v/v2.0.0.zip`, () => zipOf(MOD, 'v2.0.0')],
    ['a v1 version of a /v2 path', `${MOD}/v2/@v/v1.0.0.zip`, () => zipOf(`${MOD}/v2`, 'v1.0.0')],
    [
      '+incompatible on a v1 version',
      `${MOD}/@v/v1.5.0+incompatible.zip`,
      () => zipOf(MOD, 'v1.5.0+incompatible', { 'a.go': 'package a\n' }),
    ],
    ['+incompatible for a zip that has a go.mod', `${MOD}/@v/v3.0.0+incompatible.zip`, () => zipOf(MOD, 'v3.0.0+incompatible')],
    [
      'a zip with a file outside the module prefix',
      `${MOD}/@v/v1.2.0.zip`,
      () =>
        buildZip([
          { name: `${MOD}@v1.2.0/go.mod`, data: goMod() },
          { name: 'evil.go', data: 'x' },
        ]),
    ],
    ['a zip with a path that climbs out', `${MOD}/@v/v1.2.0.zip`, () => buildZip([{ name: `${MOD}@v1.2.0/../x.go`, data: 'x' }])],
  ])('%s is refused with 400 and a one-line reason', async (_, path, body) => {
    const res = await put(`hosted/${path}`, body());
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text.trim()).not.toBe('');
    expect(text.trimEnd()).not.toContain('\n');
    expect(await keysUnder(t, 'tmp/')).toEqual([]);
  });

  test('a zip for another module says which module@version it holds', async () => {
    const text = await (await put(`hosted/${MOD}/@v/v1.2.0.zip`, zipOf('example.com/other', 'v1.2.0'))).text();
    expect(text).toContain('example.com/other@v1.2.0');
    expect(text).toContain(`${MOD}@v1.2.0`);
  });

  // The go command's CheckZip accepts these, so the server does; but the uploader learns why the h1: may surprise them.
  test('a zip holding .git/ and vendored packages is published, with notes saying the go command would leave them out', async () => {
    const noted = 'example.com/acme/noted';
    const res = await put(
      `hosted/${noted}/@v/v1.5.0.zip`,
      zipOf(noted, 'v1.5.0', {
        'go.mod': goMod(noted),
        'n.go': 'package noted\n',
        '.git/config': '[core]\n',
        'vendor/example.com/d/d.go': 'package d\n',
      }),
    );
    expect(res.status).toBe(201);
    const body = await res.json();
    expect(body.notes).toHaveLength(2);
    expect(body.notes[0]).toStartWith('the zip holds version control files, 1 file (first ".git/config")');
    expect(body.notes[1]).toStartWith('the zip holds vendored packages, 1 file (first "vendor/example.com/d/d.go")');
    const plain = await (await put(`hosted/${noted}/@v/v1.5.1.zip`, zipOf(noted, 'v1.5.1'))).json();
    expect(plain.notes).toBeUndefined();
  });

  // A fork keeps the go.mod of the module it forks; the go command takes it through replace (it used to be a 400).
  test('a fork whose go.mod names another module is published, and the answer says it is usable through replace only', async () => {
    const fork = `${MOD}-fork`;
    const res = await put(`hosted/${fork}/@v/v1.2.0.zip`, zipOf(fork, 'v1.2.0', { 'go.mod': goMod('example.com/else') }));
    expect(res.status).toBe(201);
    expect((await res.json()).notes).toEqual([
      `go.mod names module example.com/else, not ${fork}: the go command uses this version only through a replace directive (replace example.com/else => ${fork} v1.2.0); a require of ${fork} fails`,
    ]);
    expect(await (await t.request(`/go/hosted/${fork}/@v/v1.2.0.mod`, { auth: ADMIN_AUTH })).text()).toBe(goMod('example.com/else'));
  });

  test('a v2+ module without go.mod may be published as +incompatible, and pseudo-versions are accepted', async () => {
    expect(
      (await put(`hosted/${MOD}/@v/v3.0.0+incompatible.zip`, zipOf(MOD, 'v3.0.0+incompatible', { 'a.go': 'package a\n' }))).status,
    ).toBe(201);
    expect((await put(`hosted/${MOD}/v2/@v/v2.0.0.zip`, zipOf(`${MOD}/v2`, 'v2.0.0'))).status).toBe(201);
    const pseudo = 'v1.0.1-0.20240102030405-abcdefabcdef';
    expect((await put(`hosted/${MOD}/@v/${pseudo}.zip`, zipOf(MOD, pseudo))).status).toBe(201);
    // Pseudo-versions are served but never listed.
    expect(await (await t.request(`/go/hosted/${MOD}/@v/list`, { auth: ADMIN_AUTH })).text()).toBe('v1.0.0\nv3.0.0+incompatible\n');
  });

  test('publishing a version twice under allow_once is a 409 and the first upload stays', async () => {
    const first = await (await t.request(`/go/hosted/${MOD}/@v/v1.0.0.zip`, { auth: ADMIN_AUTH })).arrayBuffer();
    const res = await put(`hosted/${MOD}/@v/v1.0.0.zip`, zipOf(MOD, 'v1.0.0', { 'go.mod': goMod(), 'other.go': 'package widget\n' }));
    expect(res.status).toBe(409);
    expect(await res.text()).toContain('immutable');
    expect(await (await t.request(`/go/hosted/${MOD}/@v/v1.0.0.zip`, { auth: ADMIN_AUTH })).arrayBuffer()).toEqual(first);
  });

  test('under allow a second upload replaces the version', async () => {
    expect((await put(`mutable/${MOD}/@v/v1.0.0.zip`, zipOf(MOD, 'v1.0.0'))).status).toBe(201);
    const replacement = zipOf(MOD, 'v1.0.0', { 'go.mod': goMod(), 'new.go': 'package widget\n' });
    const res = await put(`mutable/${MOD}/@v/v1.0.0.zip`, replacement);
    expect(res.status).toBe(201);
    expect(new Uint8Array(await (await t.request(`/go/mutable/${MOD}/@v/v1.0.0.zip`, { auth: ADMIN_AUTH })).arrayBuffer())).toEqual(
      replacement,
    );
    expect(await (await t.request(`/go/mutable/${MOD}/@v/list`, { auth: ADMIN_AUTH })).text()).toBe('v1.0.0\n');
  });

  test('under deny every upload is a 403, even from an administrator', async () => {
    for (const file of ['v1.0.0.zip', 'v1.0.0.mod', 'v1.0.0.info']) {
      expect((await put(`frozen/${MOD}/@v/${file}`, zipOf(MOD, 'v1.0.0'))).status).toBe(403);
    }
  });

  test('uploads need credentials, and a user with only read access is refused with 403', async () => {
    expect((await put(`hosted/${MOD}/@v/v1.1.0.zip`, 'x', null)).status).toBe(401);
    const { repositoryPermissions } = await import('../../src/db/schema');
    const repo = await t.ctx.repositories.rowByName('hosted');
    for (const [username, role] of [
      ['reader', 'read'],
      ['writer', 'write'],
    ] as const) {
      const user = await t.ctx.users.create({ username, password: `${username}-password-1` }, { username: 'test' });
      await t.ctx.db.insert(repositoryPermissions).values({ repositoryId: repo.id, userId: user.id, role });
    }
    const zip = zipOf(MOD, 'v1.1.0');
    expect((await put(`hosted/${MOD}/@v/v1.1.0.zip`, zip, basic('reader', 'reader-password-1'))).status).toBe(403);
    expect((await put(`hosted/${MOD}/@v/v1.1.0.zip`, zip, basic('writer', 'writer-password-1'))).status).toBe(201);
  });

  test('a .mod equal to the zip go.mod is accepted with 200; a different one is a 400', async () => {
    const same = await put(`hosted/${MOD}/@v/v1.0.0.mod`, goMod());
    expect(same.status).toBe(200);
    expect(await same.json()).toMatchObject({ created: false });
    const other = await put(`hosted/${MOD}/@v/v1.0.0.mod`, `${goMod()}require example.com/x v1.0.0\n`);
    expect(other.status).toBe(400);
    expect(await other.text()).toContain('differs from the go.mod in its zip');
  });

  test('a .info naming the same version is accepted; another version or non-JSON is a 400', async () => {
    expect((await put(`hosted/${MOD}/@v/v1.0.0.info`, JSON.stringify({ Version: 'v1.0.0', Time: '2020-01-01T00:00:00Z' }))).status).toBe(
      200,
    );
    expect((await put(`hosted/${MOD}/@v/v1.0.0.info`, JSON.stringify({ Version: 'v1.0.1' }))).status).toBe(400);
    expect((await put(`hosted/${MOD}/@v/v1.0.0.info`, 'nope')).status).toBe(400);
  });

  test('a .mod or .info before its .zip is a 409 that says to upload the zip first', async () => {
    for (const file of ['v7.0.0.mod', 'v7.0.0.info']) {
      const res = await put(`hosted/${MOD}/v7/@v/${file}`, goMod(`${MOD}/v7`));
      expect(res.status).toBe(409);
      expect(await res.text()).toContain('upload the .zip first');
    }
    expect((await t.request(`/go/hosted/${MOD}/v7/@v/list`, { auth: ADMIN_AUTH })).status).toBe(404);
  });

  test(
    'a body over 500 MiB is refused with 413 and nothing is kept',
    async () => {
      const chunk = new Uint8Array(4 * 1024 * 1024);
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent > 500 * 1024 * 1024) return controller.close();
          sent += chunk.byteLength;
          controller.enqueue(chunk);
        },
      });
      const res = await put(`hosted/${MOD}/@v/v1.9.0.zip`, body);
      expect(res.status).toBe(413);
      expect(await keysUnder(t, 'tmp/')).toEqual([]);
      expect((await t.request(`/go/hosted/${MOD}/@v/v1.9.0.info`, { auth: ADMIN_AUTH })).status).toBe(404);
      // 500 MiB staged (and a full collection every 16 MiB of it) takes 3-5 s alone: past the default limit under load.
    },
    HANG_LIMIT_MS,
  );

  test('an upload whose body breaks off leaves nothing visible, and a retry succeeds', async () => {
    const zip = zipOf(MOD, 'v1.4.0', { 'go.mod': goMod(), 'big.go': `package widget\n// ${'x'.repeat(200_000)}\n` });
    let sent = false;
    const broken = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (!sent) {
          sent = true;
          return controller.enqueue(zip.subarray(0, zip.byteLength >> 1));
        }
        controller.error(new Error('client went away'));
      },
    });
    const res = await put(`hosted/${MOD}/@v/v1.4.0.zip`, broken);
    // A client fault, not a server one: no 500 and no error log for a connection that dropped.
    expect(res.status).toBe(400);
    for (const file of ['v1.4.0.info', 'v1.4.0.mod', 'v1.4.0.zip']) {
      expect((await t.request(`/go/hosted/${MOD}/@v/${file}`, { auth: ADMIN_AUTH })).status).toBe(404);
    }
    expect(await (await t.request(`/go/hosted/${MOD}/@v/list`, { auth: ADMIN_AUTH })).text()).not.toContain('v1.4.0');
    expect(await keysUnder(t, 'tmp/')).toEqual([]);
    expect((await put(`hosted/${MOD}/@v/v1.4.0.zip`, zip)).status).toBe(201);
  });

  test('concurrent uploads of one version give exactly one 201 and 409 for the rest', async () => {
    const zips = Array.from({ length: 8 }, (_, i) => zipOf(MOD, 'v1.6.0', { 'go.mod': goMod(), 'w.go': `package widget\n// ${i}\n` }));
    const statuses = await Promise.all(zips.map((z) => put(`hosted/${MOD}/@v/v1.6.0.zip`, z).then((r) => r.status)));
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(7);
    expect(await keysUnder(t, 'tmp/')).toEqual([]);
    // The winner's zip is the one served, whole.
    const served = new Uint8Array(await (await t.request(`/go/hosted/${MOD}/@v/v1.6.0.zip`, { auth: ADMIN_AUTH })).arrayBuffer());
    expect(zips.some((z) => Buffer.from(z).equals(Buffer.from(served)))).toBe(true);
  });

  test('publishing is written to the audit log with who did it', async () => {
    const { auditLog } = await import('../../src/db/schema');
    const rows = (await t.ctx.db.select().from(auditLog)).filter((r) => r.action === 'module.publish');
    const actorOf = (target: string) => rows.find((r) => r.target === target)?.actor;
    expect(actorOf(`${MOD}@v1.0.0`)).toBe('admin');
    expect(actorOf(`${MOD}@v1.1.0`)).toBe('writer');
  });
});
