/**
 * The version to publish when none is given: the semantic-version tag on the
 * commit checked out, named as the go command names tags of a module — with
 * the module's directory in the repository as a prefix ("sub/v1.2.0"), that
 * directory taken without a trailing major-version directory ("v2/") whose
 * module path ends in the same /v2.
 */
import { realpathSync } from 'node:fs';
import { relative, sep } from 'node:path';
import { checkPathMajor, splitPathVersion } from '../goproxy/module-path';
import { compareSemver, isCanonicalVersion, isPseudoVersion, versionBuild } from '../goproxy/version';

function git(args: string[], cwd: string): { ok: boolean; out: string; err: string } {
  const r = Bun.spawnSync(['git', ...args], { cwd, stdout: 'pipe', stderr: 'pipe', stdin: 'ignore' });
  return { ok: r.exitCode === 0, out: r.stdout.toString(), err: r.stderr.toString().trim() };
}

/** The tag prefix of the module at `moduleDir` (relative to the repository root, slash-separated). */
export function tagPrefix(moduleRel: string, modulePath: string): string {
  let dir = moduleRel === '.' ? '' : moduleRel;
  const { pathMajor } = splitPathVersion(modulePath);
  const last = dir.slice(dir.lastIndexOf('/') + 1);
  // A major subdirectory (module example.com/m/v2 living in v2/) is tagged like the module root: v2.0.0, not v2/v2.0.0.
  if (pathMajor.startsWith('/') && last === pathMajor.slice(1)) dir = dir.slice(0, Math.max(0, dir.length - last.length - 1));
  return dir === '' ? '' : `${dir}/`;
}

/** Whether a tag's version suits the module path's major version (+incompatible never comes from a tag). */
function majorMatches(modulePath: string, version: string): boolean {
  if (versionBuild(version) !== '') return false;
  try {
    checkPathMajor(version, splitPathVersion(modulePath).pathMajor);
    return true;
  } catch {
    return false;
  }
}

/** Picks the version from the tags on HEAD; throws with what to do when there is none or git is missing. */
export function versionFromGitTag(moduleDir: string, modulePath: string): { version: string; tag: string } {
  const top = git(['rev-parse', '--show-toplevel'], moduleDir);
  if (!top.ok) throw new Error(`no --version given and ${moduleDir} is not in a git checkout (${top.err}); pass --version vX.Y.Z`);
  const rel = relative(realpathSync(top.out.trim()), realpathSync(moduleDir)).split(sep).join('/');
  const prefix = tagPrefix(rel || '.', modulePath);
  const tags = git(['tag', '--points-at', 'HEAD'], moduleDir);
  if (!tags.ok) throw new Error(`git tag --points-at HEAD failed: ${tags.err}`);
  const candidates = tags.out
    .split('\n')
    .map((t) => t.trim())
    .filter((t) => t.startsWith(prefix))
    .map((tag) => ({ tag, version: tag.slice(prefix.length) }))
    .filter((c) => isCanonicalVersion(c.version) && !isPseudoVersion(c.version) && majorMatches(modulePath, c.version));
  if (candidates.length === 0) {
    const major = splitPathVersion(modulePath).pathMajor.replace(/^[/.]v/, '') || '1';
    const example = `${prefix}v${major}.0.0`;
    throw new Error(
      `no --version given and HEAD has no version tag for this module (like ${example}); tag the commit (git tag ${example}) or pass --version`,
    );
  }
  candidates.sort((a, b) => compareSemver(b.version, a.version));
  return candidates[0];
}

/**
 * Files of the module directory that differ from the commit checked out (changed, untracked or
 * ignored), named from the repository root. The zip is built from the directory as it is, as CreateFromDir builds it; when its
 * version comes from a tag, these make its h1: differ from the go command's zip of that tag.
 */
export function worktreeChanges(moduleDir: string): string[] {
  const r = git(['status', '--porcelain', '--ignored', '--untracked-files=all', '--', '.'], moduleDir);
  if (!r.ok) return [];
  return r.out
    .split('\n')
    .filter((l) => l.length > 3)
    .map((l) => l.slice(3));
}
