/**
 * What the go command leaves out of the module zips it builds (x/mod zip's
 * CreateFromDir), as rules over slash paths: version control directories and
 * vendored packages. The publisher applies them; the zip check only mentions
 * them, since CheckZip accepts a zip that has such files.
 */

/** Directories CreateFromDir never descends into, wherever they are. */
export const VCS_DIRS = new Set(['.bzr', '.git', '.hg', '.svn']);

/** Whether a go.mod `go` version is at least go1.24 (go/version rules), which changed what counts as vendored. */
export function vendorRules124(goVersion: string | null): boolean {
  if (goVersion === null) return false;
  // go/version.Lang of a version with both a patch and a pre-release ("1.2.3rc1") is invalid, so older rules apply.
  const m = /^([1-9][0-9]*)\.(0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*)|[a-z]+(?:0|[1-9][0-9]*)?)?$/.exec(goVersion);
  if (!m) return false;
  const major = BigInt(m[1]);
  return major > 1n || BigInt(m[2]) >= 24n;
}

/**
 * As x/mod zip's isVendoredPackage: a file in a package whose import path has
 * a "vendor" element that is not its last. Before go1.24 a "/vendor/" inside
 * the path was measured from the wrong offset (golang.org/issue/37397) and
 * vendor/modules.txt was kept; both are kept as they were, or old hashes would change.
 */
export function isVendoredPackage(name: string, go124: boolean): boolean {
  if (go124 && name === 'vendor/modules.txt') return true;
  let i = 0;
  if (name.startsWith('vendor/')) {
    i = 'vendor/'.length;
  } else {
    const j = name.indexOf('/vendor/');
    if (j < 0) return false;
    i = go124 ? j + '/vendor/'.length : '/vendor/'.length;
  }
  return name.slice(i).includes('/');
}
