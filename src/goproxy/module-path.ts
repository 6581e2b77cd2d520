/**
 * Module, import and file path rules of x/mod module (CheckPath,
 * CheckImportPath, CheckFilePath) and the major-version suffix rules that tie a
 * module path to the versions it may carry.
 */
import { InvalidPathError, InvalidVersionError } from './errors';
import { isValidVersion, versionBuild, versionMajor } from './version';

export type PathKind = 'module' | 'import' | 'file';

/** Why a path is refused: a stable rule id and a reason phrased to follow "path ...: ". */
export interface PathProblem {
  rule: string;
  reason: string;
}

const q = (s: string) => JSON.stringify(s);
const isAsciiAlnum = (c: string) => (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');

function modPathOK(c: string): boolean {
  return isAsciiAlnum(c) || c === '-' || c === '.' || c === '_' || c === '~';
}

// Unicode letters are allowed in file names (not in module paths) because they
// are safe on every file system the go command extracts to.
const unicodeLetter = /^\p{L}$/u;
function fileNameOK(c: string): boolean {
  if (c.codePointAt(0)! < 0x80) return isAsciiAlnum(c) || '!#$%&()+,-.=@[]^_{}~ '.includes(c);
  return unicodeLetter.test(c);
}

const charOK: Record<PathKind, (c: string) => boolean> = {
  module: modPathOK,
  import: (c) => modPathOK(c) || c === '+',
  file: fileNameOK,
};

// Fast paths: elements made only of these characters need no per-character check.
const plainElem: Record<PathKind, RegExp> = {
  module: /^[0-9A-Za-z._~-]+$/,
  import: /^[0-9A-Za-z._~+-]+$/,
  file: /^[0-9A-Za-z!#$%&()+,.=@[\]^_{}~ -]+$/,
};

const badWindowsNames = new Set([
  'con',
  'prn',
  'aux',
  'nul',
  'com1',
  'com2',
  'com3',
  'com4',
  'com5',
  'com6',
  'com7',
  'com8',
  'com9',
  'lpt1',
  'lpt2',
  'lpt3',
  'lpt4',
  'lpt5',
  'lpt6',
  'lpt7',
  'lpt8',
  'lpt9',
]);

// JS strings are UTF-16; a lone surrogate is what invalid UTF-8 decodes to when
// callers used a lossy decoder, so treat it the same way.
const loneSurrogate = /[\uD800-\uDFFF]/u;

export function elemProblem(elem: string, kind: PathKind): PathProblem | null {
  if (elem === '') return { rule: 'path-empty-element', reason: 'empty path element' };
  if (/^\.+$/.test(elem)) return { rule: 'path-dot-element', reason: `path element ${q(elem)} is not allowed` };
  if (elem[0] === '.' && kind === 'module') return { rule: 'path-leading-dot', reason: `leading dot in path element ${q(elem)}` };
  if (elem.endsWith('.')) return { rule: 'path-trailing-dot', reason: `trailing dot in path element ${q(elem)}` };
  if (!plainElem[kind].test(elem)) {
    for (const c of elem) {
      if (!charOK[kind](c)) return { rule: 'path-invalid-char', reason: `invalid char ${q(c)} in path element ${q(elem)}` };
    }
  }
  const dot = elem.indexOf('.');
  const short = dot >= 0 ? elem.slice(0, dot) : elem;
  if (badWindowsNames.has(short.toLowerCase())) {
    return { rule: 'path-windows-reserved', reason: `${q(short)} is a reserved file name on Windows` };
  }
  if (kind !== 'file') {
    // "FOO~1" is how Windows spells short (8.3) names; such a path could alias another one.
    const tilde = short.lastIndexOf('~');
    if (tilde >= 0 && tilde < short.length - 1 && /^[0-9]+$/.test(short.slice(tilde + 1))) {
      return { rule: 'path-tilde-digits', reason: `trailing tilde and digits in path element ${q(elem)}` };
    }
  }
  return null;
}

export function pathProblem(path: string, kind: PathKind): PathProblem | null {
  if (loneSurrogate.test(path)) return { rule: 'path-invalid-utf8', reason: 'invalid UTF-8' };
  if (path === '') return { rule: 'path-empty', reason: 'empty path' };
  if (path[0] === '-' && kind !== 'file') return { rule: 'path-leading-dash', reason: 'leading dash' };
  if (path.includes('//')) return { rule: 'path-double-slash', reason: 'double slash' };
  if (path.endsWith('/')) return { rule: 'path-trailing-slash', reason: 'trailing slash' };
  for (const elem of path.split('/')) {
    const p = elemProblem(elem, kind);
    if (p) return p;
  }
  return null;
}

export function modulePathProblem(path: string): PathProblem | null {
  const p = pathProblem(path, 'module');
  if (p) return p;
  const slash = path.indexOf('/');
  const first = slash < 0 ? path : path.slice(0, slash);
  if (first === '') return { rule: 'module-path-first-element', reason: 'leading slash' };
  if (!first.includes('.')) return { rule: 'module-path-first-element', reason: 'missing dot in first path element' };
  for (const c of first) {
    if (!(c === '-' || c === '.' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z'))) {
      return { rule: 'module-path-first-element', reason: `invalid char ${q(c)} in first path element` };
    }
  }
  if (!splitPathVersion(path).ok) return { rule: 'module-path-version', reason: 'invalid major version suffix' };
  return null;
}

function fail(kind: PathKind, path: string, p: PathProblem): never {
  throw new InvalidPathError(p.rule, `malformed ${kind} path ${q(path)}: ${p.reason}`);
}

/** As module.CheckPath: the path a module may be published under. */
export function checkModulePath(path: string): void {
  const p = modulePathProblem(path);
  if (p) fail('module', path, p);
}

export function isValidModulePath(path: string): boolean {
  return typeof path === 'string' && modulePathProblem(path) === null;
}

/** As module.CheckImportPath: looser than a module path ("+" allowed, no dot needed). */
export function checkImportPath(path: string): void {
  const p = pathProblem(path, 'import');
  if (p) fail('import', path, p);
}

/** As module.CheckFilePath: a slash-separated path of a file inside a module. */
export function checkFilePath(path: string): void {
  const p = pathProblem(path, 'file');
  if (p) fail('file', path, p);
}

export interface SplitPath {
  prefix: string;
  /** "/v2", ".v1" (gopkg.in), or "" when the path has no major version suffix. */
  pathMajor: string;
  ok: boolean;
}

function splitGopkgIn(path: string): SplitPath {
  let i = path.length;
  if (path.endsWith('-unstable')) i -= '-unstable'.length;
  while (i > 0 && path[i - 1] >= '0' && path[i - 1] <= '9') i--;
  if (i <= 1 || path[i - 1] !== 'v' || path[i - 2] !== '.') return { prefix: path, pathMajor: '', ok: false };
  const prefix = path.slice(0, i - 2);
  const pathMajor = path.slice(i - 2);
  if (pathMajor.length <= 2 || (pathMajor[2] === '0' && pathMajor !== '.v0')) return { prefix: path, pathMajor: '', ok: false };
  return { prefix, pathMajor, ok: true };
}

/** As module.SplitPathVersion: "example.com/a/v2" -> {prefix "example.com/a", pathMajor "/v2"}. */
export function splitPathVersion(path: string): SplitPath {
  if (path.startsWith('gopkg.in/')) return splitGopkgIn(path);
  let i = path.length;
  let dot = false;
  while (i > 0 && ((path[i - 1] >= '0' && path[i - 1] <= '9') || path[i - 1] === '.')) {
    if (path[i - 1] === '.') dot = true;
    i--;
  }
  if (i <= 1 || i === path.length || path[i - 1] !== 'v' || path[i - 2] !== '/') return { prefix: path, pathMajor: '', ok: true };
  const prefix = path.slice(0, i - 2);
  const pathMajor = path.slice(i - 2);
  // "/v1", "/v0", "/v02" and "/v2.1" are not major version suffixes a module may have.
  if (dot || pathMajor.length <= 2 || pathMajor[2] === '0' || pathMajor === '/v1') return { prefix: path, pathMajor: '', ok: false };
  return { prefix, pathMajor, ok: true };
}

/** As module.CheckPathMajor: does version v belong to a path with this major suffix? */
export function checkPathMajor(v: string, pathMajor: string): void {
  let pm = pathMajor;
  if (pm.startsWith('.v') && pm.endsWith('-unstable')) pm = pm.slice(0, -'-unstable'.length);
  if (v.startsWith('v0.0.0-') && pm === '.v1') return; // gopkg.in/x.v1 predates its first tag
  const m = versionMajor(v);
  let want: string;
  if (pm === '') {
    if (m === 'v0' || m === 'v1' || versionBuild(v) === '+incompatible') return;
    want = 'v0 or v1';
  } else {
    if (m === pm.slice(1)) return;
    want = pm.slice(1);
  }
  const extra = pm === '' ? ' (a v2+ module needs a /vN path suffix, or +incompatible)' : '';
  throw new InvalidVersionError('version-major', `version ${q(v)} invalid: should be ${want}, not ${m || 'an invalid version'}${extra}`);
}

/**
 * As module.Check minus the module path check: version must be a semantic
 * version whose major matches the path's suffix. Whether +incompatible is
 * allowed (no go.mod, no /vN) is the caller's business.
 */
export function checkPathVersion(path: string, version: string): void {
  if (!isValidVersion(version)) {
    throw new InvalidVersionError('version-syntax', `version ${q(version)} of ${path} is not a semantic version`);
  }
  checkPathMajor(version, splitPathVersion(path).pathMajor);
}

/** Go's path.Clean, used to tell whether a zip entry name is already in clean form. */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p[0] === '/';
  const out: string[] = [];
  for (const elem of p.split('/')) {
    if (elem === '' || elem === '.') continue;
    if (elem === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(elem);
  }
  const s = (rooted ? '/' : '') + out.join('/');
  return s === '' ? '.' : s;
}

/**
 * Orders module paths as people read them: runs of digits compare by value, so svc-2 comes before
 * svc-10, and letters ignore case (Team sits with team). Ties (svc-01 and svc-1, Team and team) fall
 * back to plain code-unit order, so the order is total.
 */
export function compareModulePaths(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(j);
    if (isDigitCode(ca) && isDigitCode(cb)) {
      // Compared in place, without slicing: this runs for every pair a sort of thousands of paths compares.
      let si = i;
      while (si < a.length - 1 && a.charCodeAt(si) === 48 && isDigitCode(a.charCodeAt(si + 1))) si++;
      let sj = j;
      while (sj < b.length - 1 && b.charCodeAt(sj) === 48 && isDigitCode(b.charCodeAt(sj + 1))) sj++;
      let ei = si;
      while (ei < a.length && isDigitCode(a.charCodeAt(ei))) ei++;
      let ej = sj;
      while (ej < b.length && isDigitCode(b.charCodeAt(ej))) ej++;
      if (ei - si !== ej - sj) return ei - si - (ej - sj);
      for (let k = 0; k < ei - si; k++) {
        const d = a.charCodeAt(si + k) - b.charCodeAt(sj + k);
        if (d !== 0) return d;
      }
      i = ei;
      j = ej;
      continue;
    }
    if (ca !== cb) {
      const la = lowerCode(ca);
      const lb = lowerCode(cb);
      if (la !== lb) return la - lb;
    }
    i++;
    j++;
  }
  if (i < a.length || j < b.length) return i < a.length ? 1 : -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function lowerCode(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

function isDigitCode(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * A key whose plain string order is compareModulePaths' order up to its final tie-break: letters
 * lowered, each run of digits written as '0', a character standing for its length without leading
 * zeros, then those digits. Sorting thousands of paths by precomputed keys is several times faster
 * than calling compareModulePaths for every pair.
 */
export function modulePathSortKey(path: string): string {
  return path.toLowerCase().replace(/\d+/g, (run) => {
    const digits = run.replace(/^0+(?=.)/, '');
    return `0${String.fromCharCode(0x100 + digits.length)}${digits}`;
  });
}

/** Sorts items by the natural order of a module path each carries (see compareModulePaths). */
export function sortByModulePath<T>(items: T[], pathOf: (item: T) => string): T[] {
  const keyed = items.map((item) => ({ item, path: pathOf(item), key: modulePathSortKey(pathOf(item)) }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return keyed.map((k) => k.item);
}
