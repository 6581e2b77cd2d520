import { describe, expect, test } from 'bun:test';
import fc from 'fast-check';
import semver from 'semver';
import { checkProperty } from '../../test/support/property';
import { InvalidVersionError } from './errors';
import {
  canonicalVersion,
  compareSemver,
  compareVersions,
  isCanonicalVersion,
  isPrerelease,
  isPseudoVersion,
  isValidVersion,
  latestFromList,
  listVersions,
  parseVersionList,
  passThroughVersions,
  pseudoVersionBase,
  pseudoVersionTime,
  selectLatest,
  sortVersions,
} from './version';

describe('isValidVersion', () => {
  test.each([
    'v1',
    'v1.2',
    'v1.2.3',
    'v0.0.0',
    'v1.2.3-pre',
    'v1.2.3-pre.1',
    'v1.2.3+build',
    'v1.2.3-0.20240101000000-abcdef123456',
    'v2.0.0+incompatible',
    'v1.2.3-x.7.z.92',
    'v10.20.30',
  ])('accepts %p', (v) => {
    expect(isValidVersion(v)).toBe(true);
  });

  test.each([
    '',
    '1.2.3',
    'v',
    'v01.2.3',
    'v1.02.3',
    'v1.2.03',
    'v1.2.3.4',
    'v1.2-pre',
    'v1-pre',
    'v1.2.3-',
    'v1.2.3-01',
    'v1.2.3-a..b',
    'v1.2.3+',
    'v1.2.3+a+b',
    'v1.2.3 ',
    'V1.2.3',
    'v1.2.3-é',
  ])('refuses %p', (v) => {
    expect(isValidVersion(v)).toBe(false);
  });
});

describe('canonical versions', () => {
  test.each([
    ['v1', 'v1.0.0'],
    ['v1.2', 'v1.2.0'],
    ['v1.2.3', 'v1.2.3'],
    ['v1.2.3-pre+meta', 'v1.2.3-pre'],
    ['v2.0.0+incompatible', 'v2.0.0+incompatible'],
  ])('canonicalVersion(%p) is %p', (v, want) => {
    expect(canonicalVersion(v)).toBe(want);
  });

  test.each(['latest', 'v2+incompatible'])('canonicalVersion(%p) throws an InvalidVersionError', (v) => {
    expect(() => canonicalVersion(v)).toThrow(InvalidVersionError);
  });

  test.each([
    ['v1.2.3', true],
    ['v1.2.3-pre', true],
    ['v2.0.0+incompatible', true],
    ['v1.2', false],
    ['v1.2.3+build', false],
    ['master', false],
  ])('isCanonicalVersion(%p) is %p', (v, want) => {
    expect(isCanonicalVersion(v)).toBe(want);
  });

  test.each([
    ['v1.2.3-pre', true],
    ['v0.0.0-20240101000000-abcdef123456', true],
    ['v1.2.3', false],
    ['v1.2.3+build', false],
  ])('isPrerelease(%p) is %p', (v, want) => {
    expect(isPrerelease(v)).toBe(want);
  });
});

describe('pseudo-versions', () => {
  test.each([
    ['v0.0.0-20191109021931-daa7c04131f5', true],
    ['v1.2.4-0.20191109021931-daa7c04131f5', true],
    ['v1.2.3-pre.0.20191109021931-daa7c04131f5', true],
    ['v2.0.1-0.20191109021931-daa7c04131f5+incompatible', true],
    ['v1.2.3', false],
    ['v1.2.3-pre', false],
    ['v0.0.0-2019110902193-daa7c04131f5', false],
    ['v1.2.4-1.20191109021931-daa7c04131f5', false],
  ])('isPseudoVersion(%p) is %p', (v, want) => {
    expect(isPseudoVersion(v)).toBe(want);
  });

  test('pseudoVersionTime reads the UTC commit time', () => {
    expect(pseudoVersionTime('v1.2.4-0.20191109021931-daa7c04131f5').toISOString()).toBe('2019-11-09T02:19:31.000Z');
    expect(pseudoVersionTime('v0.0.0-00010101000000-000000000000').getUTCFullYear()).toBe(1);
  });

  test.each(['v0.0.0-20190231000000-abcdefabcdef', 'v0.0.0-20191301000000-abcdefabcdef', 'v0.0.0-20190101240000-abcdefabcdef'])(
    'pseudoVersionTime refuses the impossible time in %p',
    (v) => {
      expect(() => pseudoVersionTime(v)).toThrow(InvalidVersionError);
    },
  );

  test.each([
    ['v0.0.0-20191109021931-daa7c04131f5', ''],
    ['v1.2.4-0.20191109021931-daa7c04131f5', 'v1.2.3'],
    ['v1.2.10-0.20191109021931-daa7c04131f5', 'v1.2.9'],
    ['v1.3.0-pre.0.20191109021931-daa7c04131f5', 'v1.3.0-pre'],
    ['v2.0.1-0.20191109021931-daa7c04131f5+incompatible', 'v2.0.0+incompatible'],
  ])('pseudoVersionBase(%p) is %p', (v, want) => {
    expect(pseudoVersionBase(v)).toBe(want);
  });

  test('pseudoVersionBase refuses a base that would have a negative patch number', () => {
    expect(() => pseudoVersionBase('v1.2.0-0.20191109021931-daa7c04131f5')).toThrow(InvalidVersionError);
  });
});

describe('ordering', () => {
  test.each([
    ['v1.0.0', 'v1.0.1', -1],
    ['v1.0.0-alpha', 'v1.0.0', -1],
    ['v1.0.0-alpha', 'v1.0.0-alpha.1', -1],
    ['v1.0.0-alpha.1', 'v1.0.0-alpha.beta', -1],
    ['v1.0.0-beta.2', 'v1.0.0-beta.11', -1],
    ['v1.0.0-rc.1', 'v1.0.0', -1],
    ['v1.10.0', 'v1.9.0', 1],
    ['v1', 'v1.0.0', 0],
    ['v1.0.0+a', 'v1.0.0+b', 0],
    ['bogus', 'v0.0.0', -1],
  ])('compareSemver(%p, %p) is %p', (a, b, want) => {
    expect(compareSemver(a, b)).toBe(want);
  });

  test('compareVersions breaks precedence ties by string so sorting is deterministic', () => {
    expect(compareVersions('v2.0.0', 'v2.0.0+incompatible')).toBeLessThan(0);
    expect(compareVersions('v2.0.0+incompatible', 'v2.0.0')).toBeGreaterThan(0);
  });

  test('sortVersions puts invalid strings first and orders the rest by precedence', () => {
    expect(sortVersions(['v1.10.0', 'v1.2.0', 'junk', 'v1.2.0-rc.1', 'v0.1.0'])).toEqual([
      'junk',
      'v0.1.0',
      'v1.2.0-rc.1',
      'v1.2.0',
      'v1.10.0',
    ]);
  });

  const ident = fc.oneof(
    fc.nat({ max: 30 }).map(String),
    fc.stringMatching(/^[0-9A-Za-z-]{1,4}$/).filter((s) => !/^0[0-9]+$/.test(s)),
  );
  const fullVersion = fc
    .tuple(
      fc.nat({ max: 12 }),
      fc.nat({ max: 12 }),
      fc.nat({ max: 12 }),
      fc.array(ident, { maxLength: 3 }),
      fc.array(ident, { maxLength: 2 }),
    )
    .map(([a, b, c, pre, build]) => `v${a}.${b}.${c}${pre.length ? '-' + pre.join('.') : ''}${build.length ? '+' + build.join('.') : ''}`);
  const anyVersion = fc.oneof(fullVersion, fc.constantFrom('v1', 'v1.2', 'junk', ''), fc.string({ maxLength: 6 }));

  test('compareVersions agrees with semver precedence on full versions', () => {
    checkProperty(
      fc.property(fullVersion, fullVersion, (a, b) => {
        const want = semver.compare(a.slice(1), b.slice(1));
        expect(compareSemver(a, b)).toBe(want);
        if (want !== 0) expect(Math.sign(compareVersions(a, b))).toBe(want);
      }),
      { numRuns: 2000 },
    );
  });

  test('compareVersions is a total order: antisymmetric, transitive, zero only for equal strings', () => {
    checkProperty(
      fc.property(anyVersion, anyVersion, anyVersion, (a, b, c) => {
        expect(Math.sign(compareVersions(a, b))).toBe(-Math.sign(compareVersions(b, a)) || 0);
        expect(compareVersions(a, b) === 0).toBe(a === b);
        if (compareVersions(a, b) <= 0 && compareVersions(b, c) <= 0) expect(compareVersions(a, c)).toBeLessThanOrEqual(0);
      }),
      { numRuns: 3000 },
    );
  });

  test('sorting is independent of input order', () => {
    checkProperty(
      fc.property(fc.array(anyVersion, { maxLength: 20 }), (vs) => {
        expect(sortVersions([...vs].reverse())).toEqual(sortVersions(vs));
      }),
    );
  });
});

describe('listVersions', () => {
  test('keeps canonical tagged versions only, deduplicated and ascending', () => {
    const got = listVersions([
      'v1.10.0',
      'v1.2.0',
      'v1.2.0',
      'v1.2',
      'v1.2.0+meta',
      'master',
      'v0.0.0-20191109021931-daa7c04131f5',
      'v2.0.0+incompatible',
      'v1.3.0-rc.1',
    ]);
    expect(got).toEqual(['v1.2.0', 'v1.3.0-rc.1', 'v1.10.0', 'v2.0.0+incompatible']);
  });
});

describe('selectLatest', () => {
  const pseudoOld = 'v0.0.0-20200101000000-aaaaaaaaaaaa';
  const pseudoNew = 'v0.0.0-20210101000000-bbbbbbbbbbbb';

  test.each([
    ['the highest release wins over prereleases and pseudo-versions', ['v1.0.0', 'v1.1.0', 'v2.0.0-rc.1', pseudoNew], 'v1.1.0'],
    ['the highest prerelease wins when there is no release', ['v2.0.0-rc.1', 'v2.0.0-rc.2', pseudoNew], 'v2.0.0-rc.2'],
    ['the newest pseudo-version wins when there are no tags', [pseudoOld, pseudoNew], pseudoNew],
    ['non-canonical and invalid versions are never chosen', ['v9', 'master', 'v1.0.0'], 'v1.0.0'],
  ])('%s', (_name, vs, want) => {
    expect(selectLatest(vs.map((version) => ({ version })))?.version).toBe(want);
  });

  test('a recorded time orders pseudo-versions ahead of the time they encode', () => {
    const got = selectLatest([
      { version: pseudoNew, time: '2021-01-01T00:00:00Z' },
      { version: pseudoOld, time: new Date('2022-01-01T00:00:00Z') },
    ]);
    expect(got?.version).toBe(pseudoOld);
  });

  test('nothing to choose from gives undefined', () => {
    expect(selectLatest([])).toBeUndefined();
    expect(selectLatest([{ version: 'junk' }])).toBeUndefined();
  });
});

describe('passThroughVersions', () => {
  test('keeps every canonical version, pseudo-versions included, deduplicated and ascending', () => {
    const got = passThroughVersions([
      'v0.0.0-20191109021931-daa7c04131f5',
      'v1.0.0',
      'v0.0.0-20190717161051-705d9623b7c1',
      'v1.0.0',
      'master',
      'v1.2',
      '',
    ]);
    expect(got).toEqual(['v0.0.0-20190717161051-705d9623b7c1', 'v0.0.0-20191109021931-daa7c04131f5', 'v1.0.0']);
  });
});

describe('parseVersionList', () => {
  test('reads a version per line and the time after it when there is one', () => {
    const got = parseVersionList('v1.0.0\n\nv0.0.0-20200101000000-aaaaaaaaaaaa 2021-01-01T00:00:00Z\nv1.1.0 not-a-time\n');
    expect(got).toEqual([
      { version: 'v1.0.0' },
      { version: 'v0.0.0-20200101000000-aaaaaaaaaaaa', time: '2021-01-01T00:00:00Z' },
      { version: 'v1.1.0' },
    ]);
  });
});

describe('latestFromList', () => {
  const old = 'v0.0.0-20190410203021-a8df7a6c0ce8';
  const recent = 'v0.0.0-20240903120638-7835f813f4da';
  test.each([
    ['a release wins over everything', [old, 'v0.1.0-rc.1', 'v0.1.0', recent], 'v0.1.0'],
    ['a prerelease wins over pseudo-versions', [recent, 'v0.1.0-rc.1', old], 'v0.1.0-rc.1'],
    ['an untagged module gets its newest pseudo-version by time', [recent, old], recent],
    ['a pseudo-version with an impossible date is skipped', ['v0.0.0-20241399000000-aaaaaaaaaaaa', old], old],
    ['nothing usable gives undefined', ['master', 'v0.0.0-20241399000000-aaaaaaaaaaaa'], undefined],
  ])('%s', (_name, vs, want) => {
    expect(latestFromList(vs.map((version) => ({ version })))).toBe(want);
  });

  test('a time the upstream lists orders pseudo-versions ahead of the time they encode', () => {
    expect(latestFromList([{ version: recent }, { version: old, time: '2025-01-01T00:00:00Z' }])).toBe(old);
  });
});
