import { afterAll, describe, expect, test } from 'bun:test';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tagPrefix, versionFromGitTag, worktreeChanges } from './git-version';

describe('tagPrefix names tags as the go command looks them up', () => {
  test.each([
    ['.', 'example.com/m', ''],
    ['sub', 'example.com/m/sub', 'sub/'],
    ['a/b', 'example.com/m/a/b', 'a/b/'],
    ['v2', 'example.com/m/v2', ''],
    ['sub/v3', 'example.com/m/sub/v3', 'sub/'],
    ['.', 'example.com/m/v2', ''],
    ['v2', 'example.com/m', 'v2/'],
  ])('a module in %s with path %s is tagged %p + version', (rel, path, prefix) => {
    expect(tagPrefix(rel, path)).toBe(prefix);
  });
});

const haveGit = Bun.which('git') !== null;

describe.skipIf(!haveGit)('versionFromGitTag', () => {
  const repo = mkdtempSync(join(tmpdir(), 'orbit-gittag-'));
  const git = (...args: string[]) => {
    const r = Bun.spawnSync(['git', '-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'tag.gpgSign=false', ...args], { cwd: repo });
    if (r.exitCode !== 0) throw new Error(r.stderr.toString());
  };
  mkdirSync(join(repo, 'sub'));
  writeFileSync(join(repo, 'go.mod'), 'module example.com/m\n');
  writeFileSync(join(repo, 'sub', 'go.mod'), 'module example.com/m/sub\n');
  git('init', '-q');
  git('add', '.');
  git('commit', '-qm', 'one');
  git('tag', 'v1.2.0');
  git('tag', 'v1.10.0');
  git('tag', 'v2.0.0');
  git('tag', 'release-7');
  git('tag', 'sub/v0.3.0');
  afterAll(() => rmSync(repo, { recursive: true, force: true }));

  test('the highest tag on HEAD that suits the module path', () => {
    expect(versionFromGitTag(repo, 'example.com/m')).toEqual({ version: 'v1.10.0', tag: 'v1.10.0' });
  });

  test('a module in a subdirectory takes the tags prefixed with it', () => {
    expect(versionFromGitTag(join(repo, 'sub'), 'example.com/m/sub')).toEqual({ version: 'v0.3.0', tag: 'sub/v0.3.0' });
  });

  test('no suitable tag: says which tag to make', () => {
    expect(() => versionFromGitTag(repo, 'example.com/m/v3')).toThrow('git tag v3.0.0');
  });

  test('files that differ from the commit, untracked or ignored ones included, are reported for the module directory only, named from the repository root', () => {
    expect(worktreeChanges(repo)).toEqual([]);
    writeFileSync(join(repo, '.gitignore'), 'build/\n');
    mkdirSync(join(repo, 'build'));
    writeFileSync(join(repo, 'build', 'out.bin'), 'x');
    writeFileSync(join(repo, 'sub', 'new.go'), 'package sub\n');
    expect(worktreeChanges(join(repo, 'sub'))).toEqual(['sub/new.go']);
    expect(worktreeChanges(repo).sort()).toEqual(['.gitignore', 'build/out.bin', 'sub/new.go']);
  });

  test('outside a git checkout: asks for --version', () => {
    const bare = mkdtempSync(join(tmpdir(), 'orbit-nogit-'));
    try {
      expect(() => versionFromGitTag(bare, 'example.com/m')).toThrow('pass --version');
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });
});
