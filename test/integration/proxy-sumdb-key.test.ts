import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { and, eq } from 'drizzle-orm';
import { moduleVersions, repositories } from '../../src/db/schema';
import { goModHash } from '../../src/goproxy/dirhash';
import { type LogFields, silentLogger } from '../../src/log';
import fixture from '../fixtures/sumdb/uuid-v1.6.0.json';
import { startTestApp, type TestApp } from '../support/app';
import { goDefaultSumdbKey } from '../support/go';
import { HANG_LIMIT_MS } from '../support/limits';
import { sample } from '../support/metrics';
import { type StubUpstream, startStubUpstream } from '../support/stub-upstream';
import { freshVerifierKey } from '../support/sumdb-key';

// A real lookup answer and its proof tiles (test/fixtures/sumdb), verified with the go command's own
// key for its default database, read from the Go distribution on this machine at test time.
const key = goDefaultSumdbKey();
const name = key?.split('+')[0] ?? '';
const lookup = fixture.lookup.replace('{name}', name);
const { module, version } = fixture;
const goMod = `module ${module}\n`;
const modPath = `${module}/@v/${version}.mod`;
const lookupRest = `lookup/${module}@${version}`;
const tampered = `module ${module}\n\nrequire evil.example/x v1.0.0\n`;

describe.skipIf(!key)('proxy repositories verify checksum database answers with its key', () => {
  let t: TestApp;
  const stubs: StubUpstream[] = [];
  let database: StubUpstream;
  const errors: { message: string; fields?: LogFields }[] = [];

  /** An upstream serving the go.mod, relaying (or not) the database with the given lookup and tiles. */
  const upstream = async (opts: { relay: boolean; lookup?: string; tiles?: Record<string, string>; mod?: string }) => {
    const stub = await startStubUpstream();
    stubs.push(stub);
    stub.setFile(modPath, opts.mod ?? goMod, 'text/plain');
    if (opts.relay) {
      stub.setFile(`sumdb/${name}/${lookupRest}`, opts.lookup ?? lookup, 'text/plain');
      for (const [path, b64] of Object.entries(opts.tiles ?? fixture.tiles))
        stub.setFile(`sumdb/${name}/${path}`, new Uint8Array(Buffer.from(b64, 'base64')));
    } else stub.refuseSumdb(name);
    return stub;
  };
  const repo = async (repoName: string, stub: StubUpstream) =>
    expect((await t.api('POST', '/repositories', { name: repoName, type: 'proxy', remoteUrl: stub.url })).status).toBe(201);
  const stored = async (repoName: string) => {
    // A checked go.mod is answered before it is stored: the fill is let finish first.
    await t.ctx.coalescer.settled();
    const [r] = await t.ctx.db
      .select({ modKey: moduleVersions.modKey })
      .from(moduleVersions)
      .innerJoin(repositories, eq(repositories.id, moduleVersions.repositoryId))
      .where(and(eq(repositories.name, repoName), eq(moduleVersions.modulePath, module), eq(moduleVersions.version, version)));
    return !!r?.modKey;
  };
  const get = async (repoName: string) => {
    const res = await t.request(`/go/${repoName}/${modPath}`);
    return { status: res.status, text: await res.text() };
  };

  beforeAll(async () => {
    // The database itself, for an upstream that does not relay it: lookups and tiles at its root.
    database = await startStubUpstream();
    database.setFile(lookupRest, lookup, 'text/plain');
    for (const [path, b64] of Object.entries(fixture.tiles)) database.setFile(path, new Uint8Array(Buffer.from(b64, 'base64')));
    t = await startTestApp({
      settings: { gosumdb: `${key} ${database.url}` },
      log: { ...silentLogger, error: (message, fields) => errors.push({ message, fields }) },
    });
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await t?.close();
    for (const s of [...stubs, database]) await s?.close();
  });

  test('a go.mod matching a verified record through the upstream relay is stored', async () => {
    await repo('relayed', await upstream({ relay: true }));
    expect(await get('relayed')).toEqual({ status: 200, text: goMod });
    expect(await stored('relayed')).toBe(true);
    expect(database.count(lookupRest)).toBe(0);
  });

  test('an upstream that does not relay the database: the lookup and tiles come from the database URL of GOSUMDB', async () => {
    const stub = await upstream({ relay: false });
    await repo('direct', stub);
    expect(await get('direct')).toEqual({ status: 200, text: goMod });
    expect(database.count(lookupRest)).toBe(1);
    // The first lookup is asked of the relay too, beside the question whether it relays at all (refused
    // there); the tiles, read once that is known, come from the database alone.
    expect(stub.count(`sumdb/${name}/${lookupRest}`)).toBe(1);
    for (const path of Object.keys(fixture.tiles)) {
      expect(database.count(path)).toBe(1);
      expect(stub.count(`sumdb/${name}/${path}`)).toBe(0);
    }
  });

  test('a relay that changes the record to match a tampered go.mod is refused: its proof fails; logged; nothing stored; repaired, it is stored', async () => {
    const lie = lookup.replace(/\/go\.mod h1:\S+/, `/go.mod ${goModHash(module, version, new TextEncoder().encode(tampered))}`);
    expect(lie).not.toBe(lookup);
    const stub = await upstream({ relay: true, lookup: lie, mod: tampered });
    await repo('lying', stub);
    const before = errors.length;
    const refusals = async () =>
      sample(await (await t.request('/metrics')).text(), 'orbitrepos_checksum_refusals_total', { repository: 'lying', reason: 'mismatch' });
    const counted = await refusals();
    const res = await get('lying');
    expect(res.status).toBe(502);
    expect(res.text).toContain(`${module}@${version}`);
    expect(res.text).toContain('not in the signed tree');
    expect(await stored('lying')).toBe(false);
    expect(errors.slice(before).filter((e) => e.fields?.security === true)).toHaveLength(1);
    // A forged record is what a tampering upstream serves with its changed file: counted as a mismatch.
    expect((await refusals()) - counted).toBe(1);
    stub.setFile(`sumdb/${name}/${lookupRest}`, lookup, 'text/plain');
    stub.setFile(modPath, goMod, 'text/plain');
    expect(await get('lying')).toEqual({ status: 200, text: goMod });
    expect(stub.count(`sumdb/${name}/${lookupRest}`)).toBe(2);
  });

  test('a relay serving a changed tile is refused, and a relay with an unsigned tree head too', async () => {
    const tiles = { ...fixture.tiles } as Record<string, string>;
    const [first] = Object.keys(tiles);
    const bytes = Buffer.from(tiles[first], 'base64');
    bytes[5] ^= 0xff;
    tiles[first] = bytes.toString('base64');
    await repo('badtile', await upstream({ relay: true, tiles }));
    const res = await get('badtile');
    expect(res.status).toBe(502);
    expect(res.text).toContain('not in the signed tree');
    expect(await stored('badtile')).toBe(false);

    const unsigned = lookup.replace(/\u2014 .*\n$/, `\u2014 ${name} ${Buffer.alloc(68).toString('base64')}\n`);
    await repo('unsigned', await upstream({ relay: true, lookup: unsigned }));
    const res2 = await get('unsigned');
    expect(res2.status).toBe(502);
    expect(res2.text).toMatch(/carries no signature|does not verify/);
    expect(await stored('unsigned')).toBe(false);
  });
});

describe.skipIf(!key)("a proxy repository's own checksum database setting (settings.gosumdb)", () => {
  let t: TestApp;
  const stubs: StubUpstream[] = [];
  const upstream = async (tiles: Record<string, string>) => {
    const stub = await startStubUpstream();
    stubs.push(stub);
    stub.setFile(modPath, goMod, 'text/plain');
    stub.setFile(`sumdb/${name}/${lookupRest}`, lookup, 'text/plain');
    for (const [path, b64] of Object.entries(tiles)) stub.setFile(`sumdb/${name}/${path}`, new Uint8Array(Buffer.from(b64, 'base64')));
    return stub;
  };
  const changedTiles = () => {
    const tiles = { ...fixture.tiles } as Record<string, string>;
    const [first] = Object.keys(tiles);
    const bytes = Buffer.from(tiles[first], 'base64');
    bytes[5] ^= 0xff;
    tiles[first] = bytes.toString('base64');
    return tiles;
  };
  const create = async (repoName: string, stub: StubUpstream, gosumdb?: string) =>
    t.api('POST', '/repositories', { name: repoName, type: 'proxy', remoteUrl: stub.url, ...(gosumdb ? { settings: { gosumdb } } : {}) });
  const get = async (repoName: string) => {
    const res = await t.request(`/go/${repoName}/${modPath}`);
    return { status: res.status, text: await res.text() };
  };

  beforeAll(async () => {
    // The server names the database without a key: records are checked as served, proofs not verified.
    t = await startTestApp({ settings: { gosumdb: name }, log: silentLogger });
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await t?.close();
    for (const s of stubs) await s.close();
  });

  test('with its own verifier key a repository verifies proofs the server-wide setting does not: a changed tile is refused there only', async () => {
    expect((await create('server-db', await upstream(changedTiles()))).status).toBe(201);
    expect(await get('server-db')).toEqual({ status: 200, text: goMod });

    const created = await create('own-key', await upstream(changedTiles()), ` ${key}  `);
    expect(created.status).toBe(201);
    expect((await created.json()).settings.gosumdb).toBe(key);
    const res = await get('own-key');
    expect(res.status).toBe(502);
    expect(res.text).toContain('not in the signed tree');

    expect((await create('own-key-good', await upstream(fixture.tiles))).status).toBe(201);
    expect((await t.api('PATCH', '/repositories/own-key-good', { settings: { gosumdb: key } })).status).toBe(200);
    expect(await get('own-key-good')).toEqual({ status: 200, text: goMod });
  });

  test('a key that signed nothing the database serves refuses its records; cleared, the server-wide setting applies again', async () => {
    const other = await freshVerifierKey(name);
    expect((await create('other-key', await upstream(fixture.tiles), other)).status).toBe(201);
    const res = await get('other-key');
    expect(res.status).toBe(502);
    expect(res.text).toMatch(/carries no signature|does not verify/);
    const cleared = await t.api('PATCH', '/repositories/other-key', { settings: { gosumdb: null } });
    expect(cleared.status).toBe(200);
    expect((await cleared.json()).settings.gosumdb).toBeUndefined();
    expect(await get('other-key')).toEqual({ status: 200, text: goMod });
  });

  test.each([
    ['three fields', `${name} https://a.example https://b.example`],
    ['"off"', 'off'],
    ['a key whose hash does not match', `${name}+00000000+${key?.slice(key.indexOf('+', key.indexOf('+') + 1) + 1)}`],
    ['not a string', 42],
  ])('a setting with %s is a 400 naming settings.gosumdb, and nothing is created', async (_, gosumdb) => {
    const stub = await upstream(fixture.tiles);
    const res = await t.api('POST', '/repositories', {
      name: 'refused-gosumdb',
      type: 'proxy',
      remoteUrl: stub.url,
      settings: { gosumdb },
    });
    expect(res.status).toBe(400);
    expect((await res.json()).message).toContain('settings.gosumdb');
    expect((await t.api('GET', '/repositories/refused-gosumdb')).status).toBe(404);
  });
});
