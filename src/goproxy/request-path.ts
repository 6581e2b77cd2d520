/**
 * GOPROXY request paths ("{escaped module}/@v/{escaped version}.zip" and
 * friends) to what they ask for, and back (goPaths, for asking an upstream). Anything that could smuggle a different path
 * past a later layer (traversal, encoded separators, NUL) is refused before the
 * path is even matched.
 */
import { GoProtocolError } from './errors';
import { escapePath, escapeVersion, unescapePath, unescapeVersion } from './escape';
import { checkPathVersion } from './module-path';
import { canonicalVersion, isCanonicalVersion } from './version';

export type GoRequest =
  | { kind: 'list'; module: string }
  | { kind: 'latest'; module: string }
  | { kind: 'info' | 'mod' | 'zip'; module: string; version: string };

export class GoRequestError extends GoProtocolError {
  constructor(
    /** 404: not a protocol path at all; 400: a protocol path with something invalid in it. */
    readonly status: 400 | 404,
    rule: string,
    message: string,
  ) {
    super(rule, message);
  }
}

const q = (s: string) => JSON.stringify(s);
const notFound = (path: string) => new GoRequestError(404, 'not-protocol-path', `${q(path)} is not a module proxy path`);
const bad = (rule: string, message: string) => new GoRequestError(400, rule, message);

/**
 * Percent-decodes a path and splits it into elements, refusing whatever could
 * mean something else to a file system or a later decoder.
 */
function safeElements(path: string): string[] {
  if (/%(2f|5c|00)/i.test(path)) throw bad('request-encoded-separator', `request path ${q(path)} contains an encoded "/", "\\" or NUL`);
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    throw bad('request-bad-escape', `request path ${q(path)} has a malformed percent-escape`);
  }
  if (decoded.includes('\0')) throw bad('request-nul', `request path ${q(path)} contains a NUL byte`);
  if (decoded.includes('\\')) throw bad('request-backslash', `request path ${q(path)} contains a backslash`);
  const elems = decoded.split('/');
  for (const e of elems) {
    if (e === '') throw bad('request-empty-element', `request path ${q(path)} has an empty element (leading, trailing or double slash)`);
    if (e === '.' || e === '..') throw bad('request-dot-element', `request path ${q(path)} contains a ${q(e)} element`);
  }
  return elems;
}

function wrap<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof GoProtocolError && !(e instanceof GoRequestError)) throw bad(e.rule, e.message);
    throw e;
  }
}

/** `path` is everything after "/go/{repo}/", still URL-encoded. Module and version come back unescaped. */
export function parseGoRequestPath(path: string): GoRequest {
  if (path === '') throw notFound(path);
  const elems = safeElements(path);
  const n = elems.length;
  if (n >= 2 && elems[n - 1] === '@latest') {
    return { kind: 'latest', module: wrap(() => unescapePath(elems.slice(0, -1).join('/'))) };
  }
  if (n < 3 || elems[n - 2] !== '@v') throw notFound(path);
  const file = elems[n - 1];
  const escapedModule = elems.slice(0, -2).join('/');
  if (file === 'list') return { kind: 'list', module: wrap(() => unescapePath(escapedModule)) };
  const m = /^(.+)\.(info|mod|zip)$/.exec(file);
  if (!m) throw notFound(path);
  const kind = m[2] as 'info' | 'mod' | 'zip';
  const module = wrap(() => unescapePath(escapedModule));
  const version = wrap(() => unescapeVersion(m[1]));
  // .info may carry a query ("master", a commit) for a proxy to resolve; .mod and .zip only exact versions.
  if (kind !== 'info') {
    if (!isCanonicalVersion(version)) {
      let should = '';
      try {
        should = `; use ${canonicalVersion(version)}`;
      } catch {}
      throw bad('version-not-canonical', `version ${q(version)} is not a canonical version${should}`);
    }
    wrap(() => checkPathVersion(module, version));
  }
  return { kind, module, version };
}

export interface SumdbRequest {
  /** The checksum database's name, e.g. "sum.example.org". */
  name: string;
  /** What is asked of it, "!" case-escapes kept for forwarding: "supported", "latest", "lookup/...", "tile/...". */
  rest: string;
}

const hostLike = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*(:[0-9]{1,5})?$/;
// tile/{height}/{level or "data"}/{index as x###/.../###}[.p/{width}]
const tilePath = /^tile\/[0-9]{1,2}\/([0-9]{1,2}|data)\/(x[0-9]{3}\/)*[0-9]{3}(\.p\/[0-9]{1,3})?$/;

/** `path` is "sumdb/{name}/{rest}" (after "/go/{repo}/"), for proxying the checksum database. */
export function parseSumdbPath(path: string): SumdbRequest {
  if (!path.startsWith('sumdb/')) throw notFound(path);
  const elems = safeElements(path);
  if (elems.length < 3) throw notFound(path);
  const name = elems[1];
  if (!hostLike.test(name)) throw bad('sumdb-name', `${q(name)} is not a checksum database name`);
  const rest = elems.slice(2).join('/');
  if (rest === 'supported' || rest === 'latest' || tilePath.test(rest)) return { name, rest };
  if (elems[2] === 'lookup' && elems.length > 3) {
    const at = rest.lastIndexOf('@');
    if (at < 0) throw bad('sumdb-lookup', `sumdb lookup ${q(rest)} lacks "@version"`);
    wrap(() => unescapePath(rest.slice('lookup/'.length, at)));
    wrap(() => unescapeVersion(rest.slice(at + 1)));
    return { name, rest };
  }
  throw notFound(path);
}

/**
 * The inverse of parseGoRequestPath and parseSumdbPath: protocol paths, `!`-escaped, relative to a
 * GOPROXY base URL (what a proxy repository asks its upstream).
 */
export const goPaths = {
  list: (module: string) => `${escapePath(module)}/@v/list`,
  latest: (module: string) => `${escapePath(module)}/@latest`,
  file: (module: string, version: string, ext: 'info' | 'mod' | 'zip') => `${escapePath(module)}/@v/${escapeVersion(version)}.${ext}`,
  /** `rest` is forwarded as parsed (parseSumdbPath keeps its escapes). */
  sumdb: (name: string, rest: string) => `sumdb/${name}/${rest}`,
};
