import { describe, expect, test } from 'bun:test';
import { type FakeModules, FakeRepository, fakeRow } from '../../test/support/fake-repository';
import type { RepositoryRow } from '../db/schema';
import { AppError, BadUpstream, Forbidden, Gone, GroupTooDeep, NotFound, Unauthorized, UpstreamMissing, UpstreamTimeout } from '../errors';
import { silentLogger } from '../log';
import type { RepoDeps } from './deps';
import { GroupRepository, MAX_GROUP_DEPTH } from './group';
import type { GoRepository } from './repository';

const M = 'example.com/lib';
const PSEUDO_OLD = 'v0.0.0-20230101000000-aaaaaaaaaaaa';
const PSEUDO_NEW = 'v0.0.0-20240601000000-bbbbbbbbbbbb';

/** Groups and fake members as the registry would see them; `groups` can be changed between calls. */
function world(groups: Record<string, string[]>, fakes: FakeRepository[]) {
  const rows = new Map<string, RepositoryRow>();
  let id = 1;
  for (const f of fakes) {
    f.row.id = id++;
    rows.set(f.row.name, f.row);
  }
  for (const name of Object.keys(groups)) rows.set(name, fakeRow(name, 'group', id++));
  const byId = new Map([...rows.values()].map((r) => [r.id, r]));
  const byName = new Map(fakes.map((f) => [f.row.name, f as GoRepository]));
  const deps = {
    log: silentLogger,
    repositories: { memberRows: async (groupId: number) => (groups[byId.get(groupId)!.name] ?? []).map((n) => rows.get(n)!) },
    instantiate: (row: RepositoryRow): GoRepository => (row.type === 'group' ? new GroupRepository(row, deps) : byName.get(row.name)!),
  } as unknown as RepoDeps;
  return { group: (name: string) => new GroupRepository(rows.get(name)!, deps), groups };
}

const member = (name: string, modules: FakeModules = {}, type: 'hosted' | 'proxy' = 'hosted') =>
  new FakeRepository(fakeRow(name, type), modules);

async function caught(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('GroupRepository reads of one version', () => {
  test('info, mod and zip come from the first member that has the version, and later members are not asked', async () => {
    const a = member('a', { [M]: { 'v1.0.0': { mod: 'module a\n' } } });
    const b = member('b', { [M]: { 'v1.0.0': { mod: 'module b\n' } } });
    const g = world({ g: ['a', 'b'] }, [a, b]).group('g');
    expect(JSON.parse(await g.info(M, 'v1.0.0')).Origin.Repo).toBe('a');
    expect(await new Response(await (await g.mod(M, 'v1.0.0')).open()).text()).toBe('module a\n');
    expect(await new Response(await (await g.zip(M, 'v1.0.0')).open()).text()).toContain('from a');
    expect(b.calls).toEqual([]);
  });

  test('a member that lacks the version passes the request on to the next', async () => {
    const a = member('a', { [M]: { 'v1.0.0': {} } });
    const b = member('b', { [M]: { 'v1.1.0': {} } });
    const g = world({ g: ['a', 'b'] }, [a, b]).group('g');
    expect(JSON.parse(await g.info(M, 'v1.1.0')).Origin.Repo).toBe('b');
    expect(a.calls).toEqual([`info ${M}@v1.1.0`]);
  });

  test('a version no member has is NotFound naming the group and its members', async () => {
    const g = world({ g: ['a', 'b'] }, [member('a'), member('b')]).group('g');
    const err = await caught(g.zip(M, 'v9.0.0'));
    expect(err).toBeInstanceOf(NotFound);
    expect(err.message).toBe(`${M}@v9.0.0 not found in any member of group "g" (a, b)`);
    expect((await caught(world({ e: [] }, []).group('e').info(M, 'v1.0.0'))).message).toContain('group "e" has no members');
  });

  // Each kind answers a version it lost 410 (module-reader.contract.ts); a group must not turn that into a 404.
  test.each([
    ['a hosted member that deleted it', new Gone(`${M}@v1.0.0 was deleted from repository "x"`)],
    ['a proxy member whose upstream said 410', new UpstreamMissing(410, 'upstream http://127.0.0.1:9/x answered 410: gone')],
  ])("a version %s is the group's 410 naming that member, whatever members that never had it say", async (_, error) => {
    for (const order of [
      ['x', 'h'],
      ['h', 'x'],
    ]) {
      const x = member('x');
      x.fail = error;
      const err = await caught(
        world({ g: order }, [x, member('h')])
          .group('g')
          .zip(M, 'v1.0.0'),
      );
      expect(err).toBeInstanceOf(Gone);
      expect(err.status).toBe(410);
      expect(err.message).toBe(
        `${M}@v1.0.0 not found in any member of group "g" (${order.join(', ')}); gone from member "x": ${error.message}`,
      );
    }
  });

  test('a version one member says is gone is still served by a later member that has it', async () => {
    const x = member('x');
    x.fail = new Gone('deleted');
    const g = world({ g: ['x', 'b'] }, [x, member('b', { [M]: { 'v1.0.0': {} } })]).group('g');
    expect(JSON.parse(await g.info(M, 'v1.0.0')).Origin.Repo).toBe('b');
  });

  test('a gone version read through a nested group is still a 410 at the outer one', async () => {
    const x = member('x');
    x.fail = new Gone('deleted');
    const err = await caught(
      world({ outer: ['h', 'inner'], inner: ['x'] }, [x, member('h')])
        .group('outer')
        .mod(M, 'v1.0.0'),
    );
    expect(err.status).toBe(410);
  });

  test("a module list a member says is gone is the group's 410 when no member lists it; an outage elsewhere still comes first", async () => {
    const x = member('x', {}, 'proxy');
    x.fail = new UpstreamMissing(410, 'upstream answered 410');
    expect(
      (
        await caught(
          world({ g: ['h', 'x'] }, [member('h'), x])
            .group('g')
            .list(M),
        )
      ).status,
    ).toBe(410);
    const down = member('down', {}, 'proxy');
    down.fail = new BadUpstream('upstream answered 500');
    expect(
      (
        await caught(
          world({ g: ['x', 'down'] }, [x, down])
            .group('g')
            .list(M),
        )
      ).status,
    ).toBe(502);
  });

  // Versions are immutable and go.sum-checked, so an outage in one member need not stop a build another can serve.
  test('a failing member is skipped when a later member has the version', async () => {
    const a = member('a');
    a.fail = new BadUpstream('upstream answered 500');
    const g = world({ g: ['a', 'b'] }, [a, member('b', { [M]: { 'v1.0.0': {} } })]).group('g');
    expect(JSON.parse(await g.info(M, 'v1.0.0')).Origin.Repo).toBe('b');
  });

  test.each([
    ['a 5xx', new BadUpstream('upstream http://127.0.0.1:9 answered 500'), 502],
    ['a timeout', new UpstreamTimeout('upstream did not answer within 100ms'), 504],
    ['an unexpected error', new AppError(500, 'internal', 'internal server error'), 502],
  ])('when no member has the version and one failed with %s, the answer names that member, never 404', async (_, error, status) => {
    const p = member('p', {}, 'proxy');
    p.fail = error;
    const g = world({ g: ['h', 'p'] }, [member('h'), p]).group('g');
    const err = await caught(g.mod(M, 'v1.0.0'));
    expect(err.status).toBe(status);
    expect(err.message).toBe(`member "p" failed: ${error.message}`);
  });
});

describe('GroupRepository list', () => {
  test('is the union of the members, deduplicated and in semver order', async () => {
    const a = member('a', { [M]: { 'v1.10.0': {}, 'v1.2.0': {}, [PSEUDO_OLD]: {} } });
    const b = member('b', { [M]: { 'v1.2.0': {}, 'v1.9.0-rc.1': {}, 'v0.1.0': {} } });
    const g = world({ g: ['a', 'b', 'c'] }, [a, b, member('c')]).group('g');
    expect(await g.list(M)).toEqual(['v0.1.0', 'v1.2.0', 'v1.9.0-rc.1', 'v1.10.0']);
  });

  test('asks members concurrently', async () => {
    // The first member answers only once the second has been asked: sequential asking would never finish.
    let release!: () => void;
    const asked = new Promise<void>((r) => (release = r));
    const a = new (class extends FakeRepository {
      override async list(module: string) {
        await asked;
        return super.list(module);
      }
    })(fakeRow('a'), { [M]: { 'v1.0.0': {} } });
    const b = new (class extends FakeRepository {
      override async list(module: string) {
        release();
        return super.list(module);
      }
    })(fakeRow('b'), { [M]: { 'v2.0.0': {} } });
    const g = world({ g: ['a', 'b'] }, [a, b]).group('g');
    expect(await g.list(M)).toEqual(['v1.0.0', 'v2.0.0']);
  });

  test('a module a proxy member knows only by pseudo-versions lists them, as an untagged module upstream does', async () => {
    const g = world({ g: ['a', 'b'] }, [member('a', { [M]: { [PSEUDO_OLD]: {} } }, 'proxy'), member('b')]).group('g');
    expect(await g.list(M)).toEqual([PSEUDO_OLD]);
    expect(await caught(g.list('example.com/other'))).toBeInstanceOf(NotFound);
  });

  // A partial list would quietly change what version queries resolve to while the member is down.
  test('one failing member fails the list with 502 naming it, even when others answered', async () => {
    const p = member('p', {}, 'proxy');
    p.fail = new BadUpstream('upstream answered 500');
    const g = world({ g: ['a', 'p'] }, [member('a', { [M]: { 'v1.0.0': {} } }), p]).group('g');
    const err = await caught(g.list(M));
    expect(err.status).toBe(502);
    expect(err.message).toBe('member "p" failed: upstream answered 500');
  });
});

describe('GroupRepository latest', () => {
  test.each([
    [
      'a release beats a newer prerelease',
      { 'v1.0.0': { time: '2020-01-01T00:00:00Z' } },
      { 'v2.0.0-rc.1': { time: '2024-01-01T00:00:00Z' } },
      'v1.0.0',
      'a',
    ],
    ['the higher release wins whichever member has it', { 'v1.0.0': {} }, { 'v1.1.0': {} }, 'v1.1.0', 'b'],
    [
      'a prerelease beats a pseudo-version',
      { [PSEUDO_NEW]: {} },
      { 'v0.1.0-alpha': { time: '2019-01-01T00:00:00Z' } },
      'v0.1.0-alpha',
      'b',
    ],
    [
      'the newest pseudo-version wins between pseudo-versions',
      { [PSEUDO_OLD]: { time: '2023-01-01T00:00:00Z' } },
      { [PSEUDO_NEW]: { time: '2024-06-01T00:00:00Z' } },
      PSEUDO_NEW,
      'b',
    ],
    ['the earlier member wins a tie', { 'v1.0.0': {} }, { 'v1.0.0': {} }, 'v1.0.0', 'a'],
  ])('%s', async (_, aVersions, bVersions, version, origin) => {
    const g = world({ g: ['a', 'b'] }, [member('a', { [M]: aVersions }), member('b', { [M]: bVersions })]).group('g');
    const info = JSON.parse(await g.latest(M));
    expect(info.Version).toBe(version);
    // The chosen member's text comes back unchanged, extra fields and all.
    expect(info.Origin.Repo).toBe(origin);
  });

  test('a member answering @latest with something unusable is a 502 naming it', async () => {
    const bad = new (class extends FakeRepository {
      override async latest() {
        return '{"Version":"master"}';
      }
    })(fakeRow('bad'));
    const g = world({ g: ['a', 'bad'] }, [member('a', { [M]: { 'v1.0.0': {} } }), bad]).group('g');
    const err = await caught(g.latest(M));
    expect(err.status).toBe(502);
    expect(err.message).toStartWith('member "bad" failed: its @latest answer has no canonical Version');
  });

  // A static or mirrored GOPROXY has a list but no @latest endpoint: its higher release must still count.
  test('a member that answers 404 on @latest but lists versions takes part with the best of its list', async () => {
    const noLatest = new (class extends FakeRepository {
      override async latest(): Promise<string> {
        throw new NotFound('no @latest endpoint');
      }
    })(fakeRow('p', 'proxy'), { [M]: { 'v1.2.0': { time: '2024-02-01T00:00:00Z' }, 'v1.1.0': {} } });
    const hosted = member('h', { [M]: { 'v1.0.0': {}, 'v1.3.0-rc.1': {} } });
    const g = world({ g: ['h', 'p'] }, [hosted, noLatest]).group('g');
    const info = JSON.parse(await g.latest(M));
    expect(info).toMatchObject({ Version: 'v1.2.0', Time: '2024-02-01T00:00:00Z', Origin: { Repo: 'p' } });
    expect(noLatest.calls).toEqual([`list ${M}`, `info ${M}@v1.2.0`]);
  });

  test('a member with neither @latest nor a list is absent, and no member having it stays NotFound', async () => {
    const empty = new (class extends FakeRepository {
      override async latest(): Promise<string> {
        throw new NotFound('no @latest endpoint');
      }
    })(fakeRow('p', 'proxy'), {});
    expect(
      JSON.parse(
        await world({ g: ['h', 'p'] }, [member('h', { [M]: { 'v1.0.0': {} } }), empty])
          .group('g')
          .latest(M),
      ).Version,
    ).toBe('v1.0.0');
    expect(
      await caught(
        world({ g: ['p'] }, [empty])
          .group('g')
          .latest(M),
      ),
    ).toBeInstanceOf(NotFound);
  });

  test('a timeout in one member makes @latest a 504 naming it', async () => {
    const p = member('p', {}, 'proxy');
    p.fail = new UpstreamTimeout('upstream did not answer within 100ms');
    const g = world({ g: ['a', 'p'] }, [member('a', { [M]: { 'v1.0.0': {} } }), p]).group('g');
    const err = await caught(g.latest(M));
    expect(err.status).toBe(504);
    expect(err.message).toContain('member "p" failed');
  });
});

describe('GroupRepository membership and nesting', () => {
  test('a change of members or their order applies to the next call', async () => {
    const w = world({ g: ['a', 'b'] }, [member('a', { [M]: { 'v1.0.0': {} } }), member('b', { [M]: { 'v1.0.0': {} } })]);
    const g = w.group('g');
    expect(JSON.parse(await g.info(M, 'v1.0.0')).Origin.Repo).toBe('a');
    w.groups.g = ['b', 'a'];
    expect(JSON.parse(await g.info(M, 'v1.0.0')).Origin.Repo).toBe('b');
    w.groups.g = ['a'];
    expect(await g.list(M)).toEqual(['v1.0.0']);
  });

  test('nested groups are read through, in order', async () => {
    const w = world({ outer: ['inner', 'c'], inner: ['a', 'b'] }, [
      member('a'),
      member('b', { [M]: { 'v1.0.0': {} } }),
      member('c', { [M]: { 'v2.0.0': {} } }),
    ]);
    const g = w.group('outer');
    expect(JSON.parse(await g.info(M, 'v1.0.0')).Origin.Repo).toBe('b');
    expect(await g.list(M)).toEqual(['v1.0.0', 'v2.0.0']);
  });

  // Cycles are refused when members are written; this is the guard for one that slipped past anyway.
  test(`a cycle of groups ends in a 500-class error after ${MAX_GROUP_DEPTH} levels instead of recursing forever`, async () => {
    const w = world({ x: ['y'], y: ['x'] }, []);
    for (const read of [
      (g: GroupRepository) => g.info(M, 'v1.0.0'),
      (g: GroupRepository) => g.list(M),
      (g: GroupRepository) => g.latest(M),
    ]) {
      const err = await caught(read(w.group('x')));
      expect(err).toBeInstanceOf(GroupTooDeep);
      expect(err.status).toBe(500);
      expect(err.message).toContain('x -> y -> x -> y');
    }
  });

  test('a chain of exactly the maximum depth still works', async () => {
    const groups: Record<string, string[]> = {};
    for (let i = 1; i < MAX_GROUP_DEPTH; i++) groups[`g${i}`] = [`g${i + 1}`];
    groups[`g${MAX_GROUP_DEPTH}`] = ['a'];
    const w = world(groups, [member('a', { [M]: { 'v1.0.0': {} } })]);
    expect(await w.group('g1').list(M)).toEqual(['v1.0.0']);
    groups[`g${MAX_GROUP_DEPTH}`] = ['extra'];
    groups.extra = ['a'];
    expect(
      await caught(
        world(groups, [member('a', { [M]: { 'v1.0.0': {} } })])
          .group('g1')
          .list(M),
      ),
    ).toBeInstanceOf(GroupTooDeep);
  });
});

describe('GroupRepository writes and the checksum database', () => {
  test('a group has no publishing role; its hosted members, nested ones included, are where uploads go', async () => {
    const w = world({ g: ['p', 'inner', 'h1'], inner: ['h2', 'p'] }, [member('p', {}, 'proxy'), member('h1'), member('h2')]);
    expect((w.group('g') as GoRepository).publisher).toBeUndefined();
    expect(await w.group('g').hostedMembers()).toEqual(['h2', 'h1']);
    expect(
      await world({ g: ['p'] }, [member('p', {}, 'proxy')])
        .group('g')
        .hostedMembers(),
    ).toEqual([]);
  });

  test('a group has no role to delete versions: it holds none of its own', () => {
    expect((world({ g: [] }, []).group('g') as GoRepository).remover).toBeUndefined();
  });

  test('the checksum database goes through the first proxy member, depth first', async () => {
    const p1 = new FakeRepository(fakeRow('p1', 'proxy'), {}, 'from p1');
    const p2 = new FakeRepository(fakeRow('p2', 'proxy'), {}, 'from p2');
    const w = world({ g: ['h', 'inner', 'p2'], inner: ['h', 'p1'] }, [member('h'), p1, p2]);
    const answer = await w.group('g').sumdb('sum.example', 'supported');
    expect(new TextDecoder().decode(answer.body)).toBe('from p1');
    expect(p2.calls).toEqual([]);
  });

  test('without a proxy member the checksum database is 404; a failing proxy member is 502 naming it', async () => {
    expect(
      await caught(
        world({ g: ['h'] }, [member('h')])
          .group('g')
          .sumdb('sum.example', 'supported'),
      ),
    ).toBeInstanceOf(NotFound);
    const p = member('p', {}, 'proxy');
    p.fail = new BadUpstream('upstream answered 500');
    const err = await caught(
      world({ g: ['p'] }, [p])
        .group('g')
        .sumdb('sum.example', 'latest'),
    );
    expect(err.status).toBe(502);
    expect(err.message).toBe('member "p" failed: upstream answered 500');
  });
});

describe('GroupRepository read on behalf of a caller', () => {
  const refuseB = async (row: RepositoryRow) => {
    if (row.name === 'b') throw new Forbidden('user "u" may not read repository "b"');
  };

  test('a member the caller may not read is never asked, and its versions stay out of lists', async () => {
    const a = member('a', { [M]: { 'v1.0.0': {} } });
    const b = member('b', { [M]: { 'v2.0.0': {} } });
    const g = (world({ g: ['a', 'b'] }, [a, b]).group('g') as GroupRepository).readingAs(refuseB);
    expect(await g.list(M)).toEqual(['v1.0.0']);
    expect(JSON.parse(await g.latest(M)).Version).toBe('v1.0.0');
    expect(b.calls).toEqual([]);
  });

  test('what no readable member has is the denial, never NotFound, so a private path does not fall through', async () => {
    const g = (world({ g: ['a', 'b'] }, [member('a'), member('b')]).group('g') as GroupRepository).readingAs(refuseB);
    const err = await caught(g.zip(M, 'v2.0.0'));
    expect(err).toBeInstanceOf(Forbidden);
    expect(err.message).toBe(`${M}@v2.0.0 not found in the members of group "g" you may read; you may not read b`);
    const anonymous = (world({ g: ['a', 'b'] }, [member('a'), member('b')]).group('g') as GroupRepository).readingAs(async (row) => {
      if (row.name === 'b') throw new Unauthorized('repository "b" needs credentials');
    });
    expect(await caught(anonymous.list(M))).toBeInstanceOf(Unauthorized);
  });
});

describe('GroupRepository module path routing', () => {
  const P = 'corp.example/team/core';
  const owner = (name: string, namespaces: string[], modules: FakeModules = {}) => {
    const m = member(name, modules);
    m.row.namespaces = namespaces;
    return m;
  };

  test('a path inside a hosted member namespaces is asked of that member alone, for every kind of read', async () => {
    const p = member('p', { [P]: { 'v9.0.0': {} } }, 'proxy');
    const h = owner('h', ['corp.example'], { [P]: { 'v0.9.0': {} } });
    const other = member('other', { [P]: { 'v0.9.1': {} } });
    const g = world({ g: ['p', 'other', 'h'] }, [p, other, h]).group('g');
    expect(await g.list(P)).toEqual(['v0.9.0']);
    expect(JSON.parse(await g.latest(P)).Version).toBe('v0.9.0');
    expect(JSON.parse(await g.info(P, 'v0.9.0')).Origin.Repo).toBe('h');
    expect(await caught(g.zip(P, 'v9.0.0'))).toBeInstanceOf(NotFound);
    expect(await caught(g.list('corp.example/team'))).toBeInstanceOf(NotFound);
    expect([p.calls, other.calls]).toEqual([[], []]);
  });

  test('a path outside every namespace is asked of every member as before', async () => {
    const p = member('p', { [M]: { 'v1.1.0': {} } }, 'proxy');
    const h = owner('h', ['corp.example'], { [M]: { 'v1.0.0': {} } });
    expect(
      await world({ g: ['h', 'p'] }, [h, p])
        .group('g')
        .list(M),
    ).toEqual(['v1.0.0', 'v1.1.0']);
  });

  test('an owner inside a nested group routes the path to that group, and the owner fails alone', async () => {
    const p = member('p', { [P]: { 'v9.0.0': {} } }, 'proxy');
    const h = owner('h', ['corp.example/*'], { [P]: { 'v0.9.0': {} } });
    h.fail = new BadUpstream('storage fault');
    const g = world({ outer: ['p', 'inner'], inner: ['h'] }, [p, h]).group('outer');
    expect((await caught(g.list(P))).status).toBe(502);
    h.fail = undefined;
    expect(await g.list(P)).toEqual(['v0.9.0']);
    expect(p.calls).toEqual([]);
  });

  test('an owner the caller may not read is a denial, and the proxy is still not asked', async () => {
    const p = member('p', { [P]: { 'v9.0.0': {} } }, 'proxy');
    const h = owner('h', ['corp.example']);
    const g = (world({ g: ['p', 'h'] }, [p, h]).group('g') as GroupRepository).readingAs(async (row) => {
      if (row.name === 'h') throw new Unauthorized('repository "h" needs credentials');
    });
    expect(await caught(g.list(P))).toBeInstanceOf(Unauthorized);
    expect(p.calls).toEqual([]);
  });

  test('a checksum lookup of an owned path is a 404 naming the namespaces; other sumdb paths go through the proxy', async () => {
    const p = new FakeRepository(fakeRow('p', 'proxy'), {}, 'signed tree');
    const g = world({ g: ['p', 'h'] }, [p, owner('h', ['corp.example'])]).group('g');
    const err = await caught(g.sumdb('sum.example', `lookup/${P}@v0.9.0`));
    expect(err).toBeInstanceOf(NotFound);
    expect(err.message).toContain('set GONOSUMDB (or GOPRIVATE) to corp.example');
    expect(new TextDecoder().decode((await g.sumdb('sum.example', `lookup/${M}@v1.0.0`)).body)).toBe('signed tree');
    expect(p.calls).toEqual([`sumdb sum.example/lookup/${M}@v1.0.0`]);
  });

  // The 404 above names the owner and its namespaces (other private paths): only for a caller who may read that owner.
  test.each([
    ['an anonymous caller', () => new Unauthorized('repository "h" needs credentials'), Unauthorized],
    ['a signed-in caller without a grant', () => new Forbidden('user "bob" may not read repository "h"'), Forbidden],
  ] as const)(
    'a checksum lookup of a path owned by a member %s may not read names neither the member nor its namespaces, and is not relayed',
    async (_, refusal, kind) => {
      const p = new FakeRepository(fakeRow('p', 'proxy'), {}, 'signed tree');
      const h = owner('secret-h', ['corp.example', 'corp.internal/*']);
      const g = (world({ g: ['p', 'secret-h'] }, [p, h]).group('g') as GroupRepository).readingAs(async (row) => {
        if (row.name === 'secret-h') throw refusal();
      });
      const err = await caught(g.sumdb('sum.example', `lookup/${P}@v0.9.0`));
      expect(err).toBeInstanceOf(kind);
      expect(err.message).not.toContain('secret-h');
      expect(err.message).not.toContain('corp.internal');
      expect(err.message).not.toMatch(/corp\.example[^/]/);
      expect(p.calls).toEqual([]);
      // A path nobody owns still goes through the readable proxy.
      expect(new TextDecoder().decode((await g.sumdb('sum.example', `lookup/${M}@v1.0.0`)).body)).toBe('signed tree');
    },
  );

  test('a caller who may read the owner, and not another owner of the same path, is told the readable one only', async () => {
    const p = new FakeRepository(fakeRow('p', 'proxy'), {}, 'signed tree');
    const hidden = owner('hidden', ['corp.example/team']);
    const shown = owner('shown', ['corp.example']);
    const g = (world({ g: ['p', 'hidden', 'shown'] }, [p, hidden, shown]).group('g') as GroupRepository).readingAs(async (row) => {
      if (row.name === 'hidden') throw new Forbidden('user "bob" may not read repository "hidden"');
    });
    const err = await caught(g.sumdb('sum.example', `lookup/${P}@v0.9.0`));
    expect(err).toBeInstanceOf(NotFound);
    expect(err.message).toContain('repository "shown"');
    expect(err.message).toContain('set GONOSUMDB (or GOPRIVATE) to corp.example');
    expect(err.message).not.toContain('hidden');
    expect(p.calls).toEqual([]);
  });

  test('checksum-database requests go through the first proxy member the caller may read, and with none the answer is the same as with no proxy', async () => {
    const closed = new FakeRepository(fakeRow('closed', 'proxy'), {}, 'closed tree');
    const open = new FakeRepository(fakeRow('open', 'proxy'), {}, 'open tree');
    const w = world({ g: ['closed', 'open'], bare: [] }, [closed, open]);
    const deny = (names: string[]) => async (row: RepositoryRow) => {
      if (names.includes(row.name)) throw new Unauthorized(`repository "${row.name}" needs credentials`);
    };
    const g = (w.group('g') as GroupRepository).readingAs(deny(['closed']));
    expect(new TextDecoder().decode((await g.sumdb('sum.example', 'supported')).body)).toBe('open tree');
    expect(closed.calls).toEqual([]);
    const none = await caught((w.group('g') as GroupRepository).readingAs(deny(['closed', 'open'])).sumdb('sum.example', 'supported'));
    const bare = await caught(w.group('bare').sumdb('sum.example', 'supported'));
    expect(none).toBeInstanceOf(NotFound);
    expect(none.message.replace('"g"', '"bare"')).toBe(bare.message);
    expect(closed.calls).toEqual([]);
    expect(open.calls).toEqual(['sumdb sum.example/supported']);
  });
});
