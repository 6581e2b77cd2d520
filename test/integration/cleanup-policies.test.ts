import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { CleanupService } from '../../src/lifecycle/cleanup';
import type { ModuleService } from '../../src/repos/module-service';
import { ADMIN_AUTH, basic, startTestApp, type TestApp } from '../support/app';
import { testDatabaseKinds } from '../support/db';
import { HANG_LIMIT_MS } from '../support/limits';
import { type StubUpstream, startStubUpstream } from '../support/stub-upstream';
import { buildModuleZip } from '../support/zipbuild';

const DEV = basic('dev', 'dev-password-1');
const DAY_MS = 24 * 60 * 60 * 1000;

for (const kind of testDatabaseKinds()) {
  describe(`cleanup policies (${kind})`, () => {
    let t: TestApp;
    let stub: StubUpstream;
    const mod = 'example.com/cleanup/m';
    const publish = (v: string, repo = 'keep') =>
      t.request(`/go/${repo}/${mod}/@v/${v}.zip`, {
        method: 'PUT',
        auth: ADMIN_AUTH,
        body: buildModuleZip(mod, v, { 'go.mod': `module ${mod}\n`, 'a.go': `package m\n// ${v}\n` }),
      });
    const list = async (repo = 'keep') => (await (await t.request(`/go/${repo}/${mod}/@v/list`)).text()).split('\n').filter(Boolean).sort();
    const setPolicy = (repo: string, body: unknown) => t.api('PUT', `/repositories/${repo}/cleanup-policy`, body);
    const run = async (repo: string, dryRun: boolean) => {
      const res = await t.api('POST', `/repositories/${repo}/cleanup`, { dryRun });
      expect(res.status).toBe(200);
      return res.json();
    };

    beforeAll(async () => {
      stub = await startStubUpstream();
      t = await startTestApp({ db: kind });
      await t.ctx.users.create({ username: 'dev', password: 'dev-password-1' }, { username: 'test' });
      for (const [name, type] of [
        ['keep', 'hosted'],
        ['race', 'hosted'],
      ] as const) {
        expect((await t.api('POST', '/repositories', { name, type, anonymousRead: true })).status).toBe(201);
      }
      expect(
        (await t.api('POST', '/repositories', { name: 'mirror', type: 'proxy', remoteUrl: stub.url, anonymousRead: true })).status,
      ).toBe(201);
      expect((await t.api('POST', '/repositories', { name: 'grp', type: 'group', members: ['keep'] })).status).toBe(201);
      for (const v of ['v1.0.0', 'v1.1.0', 'v1.2.0', 'v1.3.0-beta.1']) expect((await publish(v)).status).toBe(201);
    }, HANG_LIMIT_MS);
    afterAll(async () => {
      await t?.close();
      await stub?.close();
    });

    test('keepVersions: the dry run lists exactly what would go and removes nothing; the run removes it, audited, with tombstones', async () => {
      const set = await setPolicy('keep', { keepVersions: 2 });
      expect(set.status).toBe(200);
      expect(await set.json()).toMatchObject({ keepVersions: 2, keepPrereleases: null, unusedDays: null, updatedBy: 'admin' });

      const dry = await run('keep', true);
      expect(dry.versions.map((v: { version: string }) => v.version)).toEqual(['v1.1.0', 'v1.0.0']);
      expect(dry.versions.every((v: { reason: string }) => v.reason === 'keepVersions')).toBe(true);
      expect(dry.removed).toBe(2);
      expect(dry.bytes).toBeGreaterThan(0);
      expect(await list()).toEqual(['v1.0.0', 'v1.1.0', 'v1.2.0', 'v1.3.0-beta.1']);

      const done = await run('keep', false);
      expect(done.versions).toEqual(dry.versions);
      expect(done.bytes).toBe(dry.bytes);
      expect(await list()).toEqual(['v1.2.0', 'v1.3.0-beta.1']);
      // Hosted removals leave tombstones (allow_once): the same bytes restore, different bytes are refused.
      const tombstones = await (await t.api('GET', '/repositories/keep/tombstones')).json();
      expect(tombstones.map((s: { version: string }) => s.version).sort()).toEqual(['v1.0.0', 'v1.1.0']);
      const audit = await (await t.api('GET', '/audit?action=cleanup.run&repository=keep')).json();
      expect(audit.entries).toHaveLength(1);
      expect(audit.entries[0].details).toMatchObject({ removed: 2, bytes: dry.bytes });
      const deletes = await (await t.api('GET', '/audit?action=module.delete&actor=cleanup-policy')).json();
      expect(deletes.entries.map((e: { target: string }) => e.target).sort()).toEqual([`${mod}@v1.0.0`, `${mod}@v1.1.0`]);
      // A second run finds nothing more.
      expect((await run('keep', false)).removed).toBe(0);
    });

    test('the version @latest answers is never removed, whatever the rules say', async () => {
      // Newest first: v1.3.0-beta.1, v1.2.0. Keeping one would drop v1.2.0, the latest release.
      expect((await setPolicy('keep', { keepVersions: 1 })).status).toBe(200);
      expect((await run('keep', true)).versions).toEqual([]);
      expect((await run('keep', false)).removed).toBe(0);
      expect(await (await t.request(`/go/keep/${mod}/@latest`)).json()).toMatchObject({ Version: 'v1.2.0' });
    });

    test('keepPrereleases keeps the newest N pre-releases of each module', async () => {
      for (const v of ['v1.4.0-rc.1', 'v1.4.0-rc.2']) expect((await publish(v)).status).toBe(201);
      expect((await setPolicy('keep', { keepPrereleases: 1 })).status).toBe(200);
      const dry = await run('keep', true);
      expect(dry.versions.map((v: { version: string }) => v.version)).toEqual(['v1.4.0-rc.1', 'v1.3.0-beta.1']);
      expect(dry.versions.every((v: { reason: string }) => v.reason === 'keepPrereleases')).toBe(true);
      await run('keep', false);
      expect(await list()).toEqual(['v1.2.0', 'v1.4.0-rc.2']);
    });

    test('unusedDays evicts cached proxy versions nobody downloaded; an evicted version is fetched again on demand', async () => {
      const pmod = 'example.com/cleanup/proxied';
      for (const v of ['v1.0.0', 'v1.1.0']) {
        stub.addModule(pmod, v, { files: { 'a.go': 'package proxied\n' } });
        expect((await t.request(`/go/mirror/${pmod}/@v/${v}.zip`)).status).toBe(200);
      }
      // Each zip is answered once checked, and its row written right after.
      await t.ctx.coalescer.settled();
      expect((await setPolicy('mirror', { unusedDays: 30 })).status).toBe(200);
      const row = await t.ctx.repositories.rowByName('mirror');
      // Nothing is 30 days unused yet.
      expect((await t.ctx.cleanup.run(row, { dryRun: true })).versions).toEqual([]);
      const later = new Date(Date.now() + 31 * DAY_MS);
      const dry = await t.ctx.cleanup.run(row, { dryRun: true, now: later });
      // v1.1.0 is @latest and stays.
      expect(dry.versions.map((v) => [v.version, v.reason])).toEqual([['v1.0.0', 'unusedDays']]);
      await t.ctx.cleanup.run(row, { now: later, actor: { username: 'admin' } });
      const cached = await (await t.api('GET', `/repositories/mirror/modules/versions?module=${encodeURIComponent(pmod)}`)).text();
      expect(cached).not.toContain('"v1.0.0"');
      expect((await t.request(`/go/mirror/${pmod}/@v/v1.0.0.zip`)).status).toBe(200);
    });

    test('bad input is refused with a reason, and nothing changes', async () => {
      const before = await (await t.api('GET', '/repositories/keep/cleanup-policy')).json();
      for (const body of [
        { keepVersions: 0 },
        { keepVersions: -1 },
        { keepVersions: 1.5 },
        { keepVersions: '3' },
        { keepVersions: 100_001 },
        { keepVersion: 3 },
        { unusedDays: 7 },
      ]) {
        const res = await setPolicy('keep', body);
        expect(res.status).toBe(400);
        expect((await res.json()).message.length).toBeGreaterThan(0);
      }
      expect((await setPolicy('grp', { keepVersions: 1 })).status).toBe(400);
      expect((await t.api('POST', '/repositories/keep/cleanup', { dryRun: 'yes' })).status).toBe(400);
      expect((await t.api('POST', '/repositories/keep/cleanup', { dryRun: true, extra: 1 })).status).toBe(400);
      const form = await t.request('/api/v1/repositories/keep/cleanup-policy', {
        method: 'PUT',
        auth: ADMIN_AUTH,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'keepVersions=1',
      });
      expect(form.status).toBe(415);
      expect(await (await t.api('GET', '/repositories/keep/cleanup-policy')).json()).toEqual(before);
    });

    test('only administrators: 401 anonymous, 403 users, the same for a missing repository', async () => {
      for (const [auth, status] of [
        [null, 401],
        [DEV, 403],
      ] as const) {
        expect((await t.api('GET', '/repositories/keep/cleanup-policy', undefined, auth)).status).toBe(status);
        expect((await t.api('PUT', '/repositories/keep/cleanup-policy', { keepVersions: 1 }, auth)).status).toBe(status);
        expect((await t.api('POST', '/repositories/keep/cleanup', { dryRun: true }, auth)).status).toBe(status);
        expect((await t.api('POST', '/repositories/nope/cleanup', { dryRun: true }, auth)).status).toBe(status);
      }
    });

    // The run reads every module's versions first, then removes module by module. What changed in between
    // (here: the first removal is when someone else deletes the other module's newest version) must be seen
    // before that module's removals, or the version that is now @latest goes too and the module is left with none.
    test('a version deleted by someone else during a run is seen before that module is cleaned: no module loses its @latest', async () => {
      const [a, b] = ['example.com/cleanup/a', 'example.com/cleanup/b'];
      expect((await t.api('POST', '/repositories', { name: 'recheck', type: 'hosted', anonymousRead: true })).status).toBe(201);
      for (const m of [a, b])
        for (const v of ['v1.0.0', 'v1.1.0', 'v1.2.0']) {
          const zip = buildModuleZip(m, v, { 'go.mod': `module ${m}\n`, 'a.go': 'package m\n' });
          expect((await t.request(`/go/recheck/${m}/@v/${v}.zip`, { method: 'PUT', auth: ADMIN_AUTH, body: zip })).status).toBe(201);
        }
      expect((await setPolicy('recheck', { keepVersions: 1 })).status).toBe(200);
      const real = t.ctx.modules;
      let interfered = false;
      const modules: ModuleService = Object.create(real);
      modules.deleteVersion = async (repo, module, version, actor) => {
        if (!interfered) {
          interfered = true;
          await real.deleteVersion(repo, module === a ? b : a, 'v1.2.0', { username: 'admin' });
        }
        return real.deleteVersion(repo, module, version, actor);
      };
      const cleanup = new CleanupService({ db: t.ctx.db, modules, audit: t.ctx.audit, log: t.ctx.log });
      await cleanup.run(await t.ctx.repositories.rowByName('recheck'), { actor: { username: 'admin' } });
      expect(interfered).toBe(true);
      const latest = async (m: string) => {
        const res = await t.request(`/go/recheck/${m}/@latest`);
        return res.status === 200 ? (await res.json()).Version : `${res.status}: ${await res.text()}`;
      };
      expect([await latest(a), await latest(b)].sort()).toEqual(['v1.1.0', 'v1.2.0']);
    });

    // After the run's re-check, just before its first removal of a module, someone else deletes that module's
    // newest version: the version the run is about to remove is now @latest. The delete itself must see that.
    test('a version that became @latest after the re-check is kept by the removal itself', async () => {
      const c = 'example.com/cleanup/c';
      expect((await t.api('POST', '/repositories', { name: 'guard', type: 'hosted', anonymousRead: true })).status).toBe(201);
      for (const v of ['v1.0.0', 'v1.1.0', 'v1.2.0']) {
        const zip = buildModuleZip(c, v, { 'go.mod': `module ${c}\n`, 'a.go': 'package c\n' });
        expect((await t.request(`/go/guard/${c}/@v/${v}.zip`, { method: 'PUT', auth: ADMIN_AUTH, body: zip })).status).toBe(201);
      }
      expect((await setPolicy('guard', { keepVersions: 1 })).status).toBe(200);
      const real = t.ctx.modules;
      let interfered = false;
      const modules: ModuleService = Object.create(real);
      modules.deleteVersion = async (repo, module, version, actor, opts) => {
        if (!interfered) {
          interfered = true;
          await real.deleteVersion(repo, module, 'v1.2.0', { username: 'admin' });
        }
        return real.deleteVersion(repo, module, version, actor, opts);
      };
      const cleanup = new CleanupService({ db: t.ctx.db, modules, audit: t.ctx.audit, log: t.ctx.log });
      const report = await cleanup.run(await t.ctx.repositories.rowByName('guard'), { actor: { username: 'admin' } });
      expect(interfered).toBe(true);
      expect(report.versions.map((v) => v.version)).toEqual(['v1.0.0']);
      expect((await (await t.request(`/go/guard/${c}/@latest`)).json()).Version).toBe('v1.1.0');
    });

    test(
      'racing publishes: every publish is kept or removed by the rule, none fails, @latest is never missing',
      async () => {
        expect((await setPolicy('race', { keepVersions: 2 })).status).toBe(200);
        const row = await t.ctx.repositories.rowByName('race');
        let publishing = true;
        const statuses: number[] = [];
        const latestSeen: string[] = [];
        const publisher = (async () => {
          for (let i = 0; i < 12; i++) statuses.push((await publish(`v1.0.${i}`, 'race')).status);
          publishing = false;
        })();
        const cleaner = (async () => {
          while (publishing) {
            await t.ctx.cleanup.run(row, { actor: { username: 'admin' } });
            const latest = await t.request(`/go/race/${mod}/@latest`);
            if (latest.status === 200) latestSeen.push((await latest.json()).Version);
            else await latest.arrayBuffer();
          }
        })();
        await Promise.all([publisher, cleaner]);
        expect(statuses.every((s) => s === 201)).toBe(true);
        await t.ctx.cleanup.run(row, { actor: { username: 'admin' } });
        expect(await list('race')).toEqual(['v1.0.10', 'v1.0.11']);
        // @latest only moves forward: the newest release was never the one removed.
        for (let i = 1; i < latestSeen.length; i++) {
          expect(Number(latestSeen[i].split('.')[2])).toBeGreaterThanOrEqual(Number(latestSeen[i - 1].split('.')[2]));
        }
      },
      HANG_LIMIT_MS,
    );
  });
}
