import { describe, expect, test } from 'bun:test';
import { goDirectiveVersion } from './gomod';
import {
  checkModuleFiles,
  type DirEntryInfo,
  isVendoredPackage,
  listModuleFiles,
  type ModuleDirReader,
  type ModuleFile,
  vendorRules124,
} from './module-files';

type Entry = string | { symlink: true } | { fifo: true };

/** A module directory in memory: paths to file contents (directories are implied by their files). */
function memDir(tree: Record<string, Entry>, extraDirs: string[] = []): ModuleDirReader {
  const dirs = new Set<string>(['', ...extraDirs]);
  for (const p of Object.keys(tree)) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  const children = (rel: string) =>
    [...new Set([...Object.keys(tree), ...dirs])]
      .filter((p) => p !== '' && p.slice(0, p.lastIndexOf('/') + 1) === (rel === '' ? '' : `${rel}/`))
      .map((p) => p.slice(p.lastIndexOf('/') + 1));
  return {
    readDir: async (rel) => children(rel).map((name) => ({ name, utf8: true })),
    lstat: async (rel): Promise<DirEntryInfo | null> => {
      if (dirs.has(rel)) return { kind: 'dir', size: 4096 };
      const e = tree[rel];
      if (e === undefined) return null;
      if (typeof e === 'string') return { kind: 'file', size: e.length };
      return { kind: 'symlink' in e ? 'symlink' : 'other', size: 0 };
    },
    readRootGoMod: async () => (typeof tree['go.mod'] === 'string' ? new TextEncoder().encode(tree['go.mod']) : null),
  };
}

const paths = (fs: ModuleFile[]) => fs.map((f) => f.path);

describe('the go version that decides the vendor rules', () => {
  test.each([
    ['module m\n\ngo 1.24\n', '1.24', true],
    ['module m\ngo 1.24.0 // comment\n', '1.24.0', true],
    ['module m\ngo 1.25rc1\n', '1.25rc1', true],
    ['module m\ngo 2.0\n', '2.0', true],
    ['module m\ngo 1.23.4\n', '1.23.4', false],
    ['module m\ngo 1.24-custom\n', '1.24', true],
    ['module m\n', null, false],
    ['module m\ngo 1.21\ngo 1.24\n', null, false],
    ['module m\ngo banana\n', null, false],
    ['module m\ngo 1.24\n/* block */\n', null, false],
  ])('%j has go version %p, go1.24 rules: %p', (text, version, rules) => {
    expect(goDirectiveVersion(text)).toBe(version);
    expect(vendorRules124(version)).toBe(rules);
  });

  // go/version.Lang finds no language version in a patch release with a pre-release tag.
  test('1.24.1rc1 is not a version go/version understands, so the old rules apply', () => {
    expect(vendorRules124('1.24.1rc1')).toBe(false);
  });
});

describe('isVendoredPackage, as x/mod zip', () => {
  test.each([
    ['vendor/modules.txt', false, false],
    ['vendor/modules.txt', true, true],
    ['vendor/top.go', false, false],
    ['vendor/example.com/d/d.go', false, true],
    ['vendor/example.com/d/d.go', true, true],
    ['pkg/vendor/vendor.go', false, true], // golang.org/issue/37397, kept for old hashes
    ['pkg/vendor/vendor.go', true, false],
    ['pkg/vendor/sub/x.go', true, true],
    ['vendored/x.go', false, false],
    ['a.go', true, false],
  ])('%s with go1.24 rules %p: %p', (name, go124, want) => {
    expect(isVendoredPackage(name, go124)).toBe(want);
  });
});

describe('listModuleFiles', () => {
  test('walks in the go command order: names sorted within each directory, not whole paths', async () => {
    const got = await listModuleFiles(memDir({ 'go.mod': 'module m\n', 'a.go': 'x', 'a/b.go': 'y', 'B.go': 'z' }));
    expect(paths(got.files)).toEqual(['B.go', 'a/b.go', 'a.go', 'go.mod']);
    expect(got.invalid).toEqual([]);
  });

  test('leaves out VCS directories, nested modules, symlinks, other irregular files and the root .hg_archival.txt, saying why', async () => {
    const got = await listModuleFiles(
      memDir({
        'go.mod': 'module m\n',
        'keep.go': 'k',
        '.git/config': 'c',
        'sub/.svn/x': 'x',
        'nested/go.mod': 'module m/nested\n',
        'nested/n.go': 'n',
        'link.go': { symlink: true },
        pipe: { fifo: true },
        '.hg_archival.txt': 'h',
        'sub/.hg_archival.txt': 'kept',
      }),
    );
    expect(paths(got.files)).toEqual(['go.mod', 'keep.go', 'sub/.hg_archival.txt']);
    expect(got.omitted.map((o) => [o.path, o.rule])).toEqual([
      ['.git', 'vcs-directory'],
      ['link.go', 'symlink'],
      ['nested', 'nested-module'],
      ['pipe', 'not-regular'],
      ['sub/.svn', 'vcs-directory'],
      ['.hg_archival.txt', 'hg-archival'],
    ]);
  });

  test('a directory with a go.mod in another case is walked, but all its files are another module', async () => {
    const got = await listModuleFiles(memDir({ 'go.mod': 'module m\n', 'sub/GO.MOD': 'module x\n', 'sub/s.go': 's' }));
    expect(paths(got.files)).toEqual(['go.mod']);
    expect(got.omitted.map((o) => o.path)).toEqual(['sub/GO.MOD', 'sub/s.go']);
  });

  test('which vendor/ files are kept follows the go line of the root go.mod', async () => {
    const tree = { 'vendor/modules.txt': 'm', 'vendor/a/b.go': 'b', 'pkg/vendor/v.go': 'v' };
    const old = await listModuleFiles(memDir({ 'go.mod': 'module m\ngo 1.23\n', ...tree }));
    expect(paths(old.files)).toEqual(['go.mod', 'vendor/modules.txt']);
    const now = await listModuleFiles(memDir({ 'go.mod': 'module m\ngo 1.24\n', ...tree }));
    expect(paths(now.files)).toEqual(['go.mod', 'pkg/vendor/v.go']);
  });

  test('an empty directory has no files', async () => {
    expect(await listModuleFiles(memDir({}))).toEqual({ files: [], omitted: [], invalid: [] });
  });
});

describe('checkModuleFiles refuses what CheckDir refuses, under the zip check rule names', () => {
  const f = (path: string, size = 1, utf8 = true): ModuleFile => ({ path, size, utf8 });

  test.each([
    ['a:b.go', 'path-invalid-char'],
    ['sub/com1.txt', 'path-windows-reserved'],
    ['x./y.go', 'path-trailing-dot'],
    ['Go.mod', 'gomod-case'],
  ])('%s is refused with %s', (path, rule) => {
    const got = checkModuleFiles([f('go.mod'), f(path)], false);
    expect(got.invalid.map((i) => [i.path, i.rule])).toEqual([[path, rule]]);
  });

  test('a name that is not UTF-8 is refused', () => {
    expect(checkModuleFiles([f('\uFFFD.go', 1, false)], false).invalid.map((i) => i.rule)).toEqual(['path-invalid-utf8']);
  });

  test('names equal under case folding collide, the second one named', () => {
    const got = checkModuleFiles([f('README'), f('readme')], false);
    expect(got.invalid).toEqual([
      { path: 'readme', rule: 'case-collision', reason: 'case-insensitive file name collision: "README" and "readme"' },
    ]);
  });

  test('sizes: the total, go.mod and LICENSE limits', () => {
    const limits = { maxZipFile: 100, maxGoMod: 10, maxLicense: 20, maxEntries: 1000 };
    const rules = (fs: ModuleFile[]) => checkModuleFiles(fs, false, limits).invalid.map((i) => i.rule);
    expect(rules([f('go.mod', 10), f('LICENSE', 20), f('a', 70)])).toEqual([]);
    expect(rules([f('a', 60), f('b', 41)])).toEqual(['content-too-large']);
    expect(rules([f('go.mod', 11)])).toEqual(['gomod-too-large']);
    expect(rules([f('LICENSE', 21)])).toEqual(['license-too-large']);
  });
});
