import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { and, eq } from 'drizzle-orm';
import { moduleVersions } from '../../src/db/schema';
import { type LogFields, silentLogger } from '../../src/log';
import { startTestApp, type TestApp } from '../support/app';
import { testDatabaseKinds } from '../support/db';
import { HANG_LIMIT_MS } from '../support/limits';
import { sample } from '../support/metrics';
import { type StubUpstream, startStubUpstream } from '../support/stub-upstream';
import { buildModuleZip } from '../support/zipbuild';

/** The go command's default checksum database name, as the server takes it (never written here). */
const SUMDB = Bun.spawnSync(['go', 'env', 'GOSUMDB']).stdout.toString().trim().split(/[+\s]/)[0];

describe.each(testDatabaseKinds())('proxy repositories check fills against the checksum database on %s', (dbKind) => {
  let t: TestApp;
  let stub: StubUpstream;
  let n = 0;
  const errors: { message: string; fields?: LogFields }[] = [];
  const fresh = (prefix = 'example.com/sum') => {
    const module = `${prefix}/m${++n}`;
    const zip = new Uint8Array(stub.addModule(module, 'v1.0.0'));
    const url = (repo: string, ext: string) => `/go/${repo}/${module}/@v/v1.0.0.${ext}`;
    return { module, zip, p: stub.paths(module, 'v1.0.0'), url, lookup: stub.lookupPath(SUMDB, module, 'v1.0.0') };
  };
  const get = async (path: string) => {
    const res = await t.request(path);
    return { status: res.status, text: await res.text() };
  };
  const stored = async (repo: string, module: string) => {
    // A checked file is answered before it is stored: its fill is let finish first.
    await t.ctx.coalescer.settled();
    const [r] = await t.ctx.db
      .select()
      .from(moduleVersions)
      .where(and(eq(moduleVersions.modulePath, module), eq(moduleVersions.version, 'v1.0.0')));
    return r ? { zip: !!r.zipKey, mod: !!r.modKey, repo } : undefined;
  };
  /** orbitrepos_checksum_refusals_total of every repository and reason, read from /metrics. */
  const refusals = async () => {
    const text = await (await t.request('/metrics')).text();
    const of = (repository: string, reason: string) => sample(text, 'orbitrepos_checksum_refusals_total', { repository, reason });
    return {
      mismatch: of('checked', 'mismatch'),
      unknown: of('checked', 'unknown_module'),
      others: ['unchecked', 'private'].reduce((n, r) => n + of(r, 'mismatch') + of(r, 'unknown_module'), 0),
    };
  };
  const moved = async (before: Awaited<ReturnType<typeof refusals>>) => {
    const after = await refusals();
    return { mismatch: after.mismatch - before.mismatch, unknown: after.unknown - before.unknown, others: after.others - before.others };
  };
  const tampered = (module: string) =>
    buildModuleZip(module, 'v1.0.0', { 'go.mod': `module ${module}\n\ngo 1.21\n`, 'x.go': 'package x // changed\n' });

  beforeAll(async () => {
    expect(SUMDB).not.toBe('');
    stub = await startStubUpstream();
    t = await startTestApp({ db: dbKind, log: { ...silentLogger, error: (message, fields) => errors.push({ message, fields }) } });
    for (const [name, settings] of [
      ['checked', {}],
      ['unchecked', { checksumVerification: 'off' }],
      ['private', { noSumdbPatterns: 'corp.example/*, example.com/private' }],
    ] as const) {
      expect((await t.api('POST', '/repositories', { name, type: 'proxy', remoteUrl: stub.url, settings })).status).toBe(201);
    }
  }, HANG_LIMIT_MS);
  afterAll(async () => {
    await t?.close();
    await stub?.close();
  });

  test('a zip and go.mod matching the record are stored, after one lookup through the upstream', async () => {
    const m = fresh();
    expect((await get(m.url('checked', 'zip'))).status).toBe(200);
    expect((await get(m.url('checked', 'mod'))).status).toBe(200);
    expect(await stored('checked', m.module)).toEqual({ zip: true, mod: true, repo: 'checked' });
    expect(stub.count(m.lookup)).toBe(1);
    // The go command's own lookup through the proxy is answered from the same cache.
    expect((await get(`/go/checked/${m.lookup}`)).text).toContain(`${m.module} v1.0.0 ${stub.sumdbRecord(m.module, 'v1.0.0')!.h1}`);
    expect(stub.count(m.lookup)).toBe(1);
  });

  test('a tampered zip is a 502 naming module, version and both hashes, nothing is stored, and it is logged as a security event', async () => {
    const m = fresh();
    stub.setFile(m.p.zip, tampered(m.module), 'application/zip');
    const before = errors.length;
    const counted = await refusals();
    const res = await get(m.url('checked', 'zip'));
    expect(res.status).toBe(502);
    const want = stub.sumdbRecord(m.module, 'v1.0.0')!.h1!;
    expect(res.text).toContain(`checksum mismatch for ${m.module}@v1.0.0 zip`);
    expect(res.text).toContain(want);
    expect(res.text).toMatch(/served h1:\S+=, checksum database/);
    expect(await stored('checked', m.module)).toBeUndefined();
    const logged = errors.slice(before).filter((e) => e.fields?.security === true);
    expect(logged).toHaveLength(1);
    expect(logged[0].fields).toMatchObject({ security: true, module: m.module, version: 'v1.0.0', recorded: want });
    const left: string[] = [];
    for await (const key of t.storage.list('tmp/')) left.push(key);
    expect(left).toEqual([]);
    // The upstream is repaired: the next request fetches again and succeeds.
    stub.setFile(m.p.zip, m.zip, 'application/zip');
    const again = await t.request(m.url('checked', 'zip'));
    expect(again.status).toBe(200);
    expect(new Uint8Array(await again.arrayBuffer())).toEqual(m.zip);
    expect(stub.count(m.p.zip)).toBe(2);
    // One refusal on /metrics: the tampered fill; the repaired one is no refusal.
    expect(await moved(counted)).toEqual({ mismatch: 1, unknown: 0, others: 0 });
  });

  test('a tampered go.mod is a 502 naming both go.mod hashes, nothing is stored, and a repaired one is stored', async () => {
    const m = fresh();
    stub.setFile(m.p.mod, `module ${m.module}\n\ngo 1.21\n\nrequire evil.example/x v1.0.0\n`, 'text/plain');
    const counted = await refusals();
    const res = await get(m.url('checked', 'mod'));
    expect(res.status).toBe(502);
    expect(res.text).toContain(`checksum mismatch for ${m.module}@v1.0.0 go.mod`);
    expect(res.text).toContain(stub.sumdbRecord(m.module, 'v1.0.0')!.goModH1!);
    expect(await stored('checked', m.module)).toBeUndefined();
    stub.setFile(m.p.mod, `module ${m.module}\n\ngo 1.21\n`, 'text/plain');
    expect((await get(m.url('checked', 'mod'))).status).toBe(200);
    expect(await stored('checked', m.module)).toEqual({ zip: false, mod: true, repo: 'checked' });
    expect(await moved(counted)).toEqual({ mismatch: 1, unknown: 0, others: 0 });
  });

  test.each([
    ['longer than its Content-Length (cut short by it)', { kind: 'long', cutBytes: 5 }],
    ['shorter than its Content-Length', { kind: 'short', afterBytes: 5 }],
  ] as const)('a go.mod %s is a 502, nothing is stored, and the whole one is stored next', async (_, fault) => {
    const m = fresh();
    stub.fault(m.p.mod, fault, 1);
    const res = await get(m.url('checked', 'mod'));
    expect(res.status).toBe(502);
    expect(res.text).toContain(m.module);
    expect(await stored('checked', m.module)).toBeUndefined();
    expect((await get(m.url('checked', 'mod'))).status).toBe(200);
    expect(await stored('checked', m.module)).toEqual({ zip: false, mod: true, repo: 'checked' });
  });

  test('a lookup answering another hash is a 502; once the database answers right, the same zip is stored', async () => {
    const m = fresh();
    const good = stub.sumdbRecord(m.module, 'v1.0.0')!;
    stub.setSumdbRecord(m.module, 'v1.0.0', { ...good, h1: `h1:${'Z'.repeat(43)}=` });
    const counted = await refusals();
    const res = await get(m.url('checked', 'zip'));
    expect(res.status).toBe(502);
    expect(res.text).toContain(`records h1:${'Z'.repeat(43)}=`);
    expect(await stored('checked', m.module)).toBeUndefined();
    stub.setSumdbRecord(m.module, 'v1.0.0', good);
    expect((await get(m.url('checked', 'zip'))).status).toBe(200);
    expect(stub.count(m.lookup)).toBe(2);
    expect(await moved(counted)).toEqual({ mismatch: 1, unknown: 0, others: 0 });
  });

  test('a lookup that is no record is a 502 saying so, and nothing is stored', async () => {
    const m = fresh();
    stub.setFile(m.lookup, '<html>maintenance</html>', 'text/html');
    const counted = await refusals();
    const res = await get(m.url('checked', 'zip'));
    expect(res.status).toBe(502);
    expect(res.text).toContain('checksum database lookup');
    expect(await stored('checked', m.module)).toBeUndefined();
    // An unusable answer is the upstream's failure, not a verdict on the file: no refusal is counted.
    expect(await moved(counted)).toEqual({ mismatch: 0, unknown: 0, others: 0 });
  });

  test('a module the database does not know is refused with the reason; a noSumdbPatterns match stores it', async () => {
    const m = fresh('example.com/private');
    stub.setSumdbRecord(m.module, 'v1.0.0', undefined);
    const counted = await refusals();
    const res = await get(m.url('checked', 'zip'));
    expect(res.status).toBe(502);
    expect(res.text).toContain(`${m.module}@v1.0.0 is not in the checksum database ${SUMDB}`);
    expect(res.text).toContain('noSumdbPatterns');
    expect((await get(m.url('private', 'zip'))).status).toBe(200);
    expect((await get(m.url('private', 'mod'))).status).toBe(200);
    const other = fresh('corp.example');
    stub.setSumdbRecord(other.module, 'v1.0.0', undefined);
    expect((await get(other.url('private', 'zip'))).status).toBe(200);
    expect(stub.count(other.lookup)).toBe(0);
    expect(await moved(counted)).toEqual({ mismatch: 0, unknown: 1, others: 0 });
  });

  test('a repository with checksumVerification "off" stores what the upstream serves without a lookup', async () => {
    const m = fresh();
    const bad = tampered(m.module);
    stub.setFile(m.p.zip, bad, 'application/zip');
    const counted = await refusals();
    const res = await t.request(m.url('unchecked', 'zip'));
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bad);
    expect(stub.count(m.lookup)).toBe(0);
    expect(await moved(counted)).toEqual({ mismatch: 0, unknown: 0, others: 0 });
  });

  test('bad checksum settings are a 400 naming the setting', async () => {
    const cases = [
      [{ checksumVerification: 'maybe' }, 'checksumVerification must be "sumdb" or "off"'],
      [{ noSumdbPatterns: 'corp[.example' }, 'noSumdbPatterns: module path pattern "corp[.example" is malformed'],
    ] as const;
    for (const [settings, message] of cases) {
      const res = await t.api('PATCH', '/repositories/checked', { settings });
      expect(res.status).toBe(400);
      expect((await res.json()).message).toContain(message);
    }
    for (const settings of [{ noSumdbPatterns: 7 }, { checksumVerification: true }]) {
      const res = await t.api('PATCH', '/repositories/checked', { settings });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(await res.text()).toMatch(/noSumdbPatterns|checksumVerification/);
    }
    const ok = await t.api('PATCH', '/repositories/private', { settings: { noSumdbPatterns: 'corp.example/*' } });
    expect(ok.status).toBe(200);
    expect((await ok.json()).settings).toMatchObject({ noSumdbPatterns: 'corp.example/*' });
  });
});
