/**
 * Which files of a module directory belong in its module zip, decided as
 * x/mod's zip.CreateFromDir decides (listFilesInDir, then checkFiles): version
 * control directories, nested modules, vendored packages and irregular files
 * are left out; invalid names, case collisions and oversize files refuse the
 * whole directory, under the rule names checkModuleZip uses for the same faults.
 *
 * The directory is read through the small ModuleDirReader interface, so these
 * rules do no I/O of their own (the publisher passes a file-system reader, tests an in-memory one).
 */
import { goDirectiveVersion } from './gomod';
import { isVendoredPackage, VCS_DIRS, vendorRules124 } from './left-out';
import { cleanPath, pathProblem } from './module-path';
import { DEFAULT_ZIP_LIMITS, foldKey, type ZipLimits } from './zip-check';

export { isVendoredPackage, vendorRules124 } from './left-out';

export type DirEntryKind = 'file' | 'dir' | 'symlink' | 'other';

export interface DirEntryInfo {
  kind: DirEntryKind;
  /** Bytes, for regular files. */
  size: number;
}

export interface DirName {
  /** The name as text (invalid UTF-8 bytes replaced). */
  name: string;
  /** False when the name on disk is not valid UTF-8: such a file cannot be in a module zip. */
  utf8: boolean;
}

export interface ModuleDirReader {
  /** The names in a directory given by its slash path relative to the module root ('' is the root). */
  readDir(rel: string): Promise<DirName[]>;
  /** Facts about the entry itself, a symbolic link not followed; null when there is none. */
  lstat(rel: string): Promise<DirEntryInfo | null>;
  /** The root go.mod's bytes, a symbolic link followed (as listFilesInDir reads it); null when unreadable. */
  readRootGoMod(): Promise<Uint8Array | null>;
}

export interface ModuleFile {
  /** Slash path relative to the module root, as it appears after "{module}@{version}/". */
  path: string;
  size: number;
  utf8: boolean;
}

export interface FileNote {
  path: string;
  /** Stable rule id: for refusals, the id checkModuleZip gives the same fault. */
  rule: string;
  reason: string;
}

export interface ModuleFiles {
  /** The files of the zip, in the go command's walk order. */
  files: ModuleFile[];
  /** Left out, as the go command leaves them out (not an error). */
  omitted: FileNote[];
  /** Each one refuses the directory. */
  invalid: FileNote[];
}

/** Go compares names as bytes; for UTF-16 strings that is code point order. */
function byteOrder(a: string, b: string): number {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return Buffer.compare(x, y);
}

async function rootGoVersion(dir: ModuleDirReader): Promise<string | null> {
  const bytes = await dir.readRootGoMod();
  return bytes ? goDirectiveVersion(new TextDecoder().decode(bytes)) : null;
}

/** As listFilesInDir: a lexical walk that prunes VCS directories and nested modules, keeping regular files only. */
async function walk(dir: ModuleDirReader, go124: boolean, omitted: FileNote[]): Promise<ModuleFile[]> {
  const files: ModuleFile[] = [];
  const visit = async (rel: string): Promise<void> => {
    const names = (await dir.readDir(rel)).sort((a, b) => byteOrder(a.name, b.name));
    for (const { name, utf8 } of names) {
      const p = rel === '' ? name : `${rel}/${name}`;
      const info = await dir.lstat(p);
      if (!info) throw new Error(`${p} disappeared while the module directory was being read`);
      // Everything under a vendored directory is vendored too, so pruning it leaves the same files as Go's walk.
      if (isVendoredPackage(p, go124)) {
        omitted.push({ path: p, rule: 'vendored', reason: 'file is in vendor directory' });
        continue;
      }
      if (info.kind === 'dir') {
        if (VCS_DIRS.has(name)) {
          omitted.push({ path: p, rule: 'vcs-directory', reason: 'directory is a version control repository' });
          continue;
        }
        const goMod = await dir.lstat(`${p}/go.mod`);
        if (goMod && goMod.kind !== 'dir') {
          omitted.push({ path: p, rule: 'nested-module', reason: 'directory is in another module' });
          continue;
        }
        await visit(p);
        continue;
      }
      if (info.kind !== 'file') {
        const rule = info.kind === 'symlink' ? 'symlink' : 'not-regular';
        omitted.push({ path: p, rule, reason: info.kind === 'symlink' ? 'file is a symbolic link' : 'not a regular file' });
        continue;
      }
      files.push({ path: p, size: info.size, utf8 });
    }
  };
  await visit('');
  return files;
}

function dirOf(p: string): string {
  return p.slice(0, p.lastIndexOf('/') + 1);
}

/** Case-insensitive collisions and file-versus-directory clashes, as x/mod zip's collisionChecker. */
function collisionProblem(seen: Map<string, { path: string; isDir: boolean }>, p: string, isDir: boolean): FileNote | null {
  const key = foldKey(p);
  const other = seen.get(key);
  if (other) {
    if (other.path !== p) {
      return { path: p, rule: 'case-collision', reason: `case-insensitive file name collision: "${other.path}" and "${p}"` };
    }
    if (other.isDir !== isDir) return { path: p, rule: 'file-and-directory', reason: `entry "${p}" is both a file and a directory` };
    if (!isDir) return { path: p, rule: 'duplicate-entry', reason: `multiple entries for file "${p}"` };
  } else {
    seen.set(key, { path: p, isDir });
  }
  const slash = p.lastIndexOf('/');
  return slash > 0 ? collisionProblem(seen, p.slice(0, slash), true) : null;
}

/** As checkFiles: sorts listed files into kept, omitted and invalid. */
export function checkModuleFiles(listed: ModuleFile[], go124: boolean, limits: ZipLimits = DEFAULT_ZIP_LIMITS): ModuleFiles {
  const omitted: FileNote[] = [];
  const invalid: FileNote[] = [];
  const files: ModuleFile[] = [];
  const haveGoMod = new Set<string>();
  for (const f of listed) {
    const base = f.path.slice(f.path.lastIndexOf('/') + 1);
    if (foldKey(base) === 'go.mod') haveGoMod.add(dirOf(f.path)); // strings.EqualFold(base, "go.mod")
  }
  const inSubmodule = (p: string): boolean => {
    for (let d = dirOf(p); d !== ''; d = dirOf(d.slice(0, -1))) if (haveGoMod.has(d)) return true;
    return false;
  };
  const seen = new Map<string, { path: string; isDir: boolean }>();
  let room = limits.maxZipFile;
  let tooLarge = false;
  for (const f of listed) {
    const p = f.path;
    const refuse = (rule: string, reason: string) => invalid.push({ path: p, rule, reason });
    if (cleanPath(p) !== p) {
      refuse('path-not-clean', 'file path is not clean');
      continue;
    }
    if (isVendoredPackage(p, go124)) {
      omitted.push({ path: p, rule: 'vendored', reason: 'file is in vendor directory' });
      continue;
    }
    if (inSubmodule(p)) {
      omitted.push({ path: p, rule: 'nested-module', reason: 'file is in another module' });
      continue;
    }
    if (p === '.hg_archival.txt') {
      omitted.push({ path: p, rule: 'hg-archival', reason: "file is inserted by 'hg archive' and is always omitted" });
      continue;
    }
    if (!f.utf8) {
      refuse('path-invalid-utf8', 'malformed file path: invalid UTF-8');
      continue;
    }
    const problem = pathProblem(p, 'file');
    if (problem) {
      refuse(problem.rule, `malformed file path: ${problem.reason}`);
      continue;
    }
    if (p.toLowerCase() === 'go.mod' && p !== 'go.mod') {
      refuse('gomod-case', 'go.mod files must have lowercase names');
      continue;
    }
    const collision = collisionProblem(seen, p, false);
    if (collision) {
      invalid.push(collision);
      continue;
    }
    if (f.size <= room) room -= f.size;
    else if (!tooLarge) {
      tooLarge = true;
      refuse('content-too-large', `module source tree too large (max size is ${limits.maxZipFile} bytes)`);
    }
    if (p === 'go.mod' && f.size > limits.maxGoMod) {
      refuse('gomod-too-large', `go.mod file too large (${f.size} bytes; max size is ${limits.maxGoMod} bytes)`);
      continue;
    }
    if (p === 'LICENSE' && f.size > limits.maxLicense) {
      refuse('license-too-large', `LICENSE file too large (${f.size} bytes; max size is ${limits.maxLicense} bytes)`);
      continue;
    }
    files.push(f);
  }
  return { files, omitted, invalid };
}

/**
 * The files CreateFromDir would put in the zip of the module rooted at `dir`.
 * Refusals are returned in `invalid`, not thrown: the publisher reports them all at once.
 */
export async function listModuleFiles(dir: ModuleDirReader, limits: ZipLimits = DEFAULT_ZIP_LIMITS): Promise<ModuleFiles> {
  // The walk reads the root go.mod through a symlink; checkFiles only reads a regular one. Both, as Go does.
  const walkRules = vendorRules124(await rootGoVersion(dir));
  const omitted: FileNote[] = [];
  const listed = await walk(dir, walkRules, omitted);
  const root = listed.find((f) => f.path === 'go.mod');
  const checkRules = root ? walkRules : false;
  const checked = checkModuleFiles(listed, checkRules, limits);
  return { files: checked.files, omitted: [...omitted, ...checked.omitted], invalid: checked.invalid };
}
