/**
 * The "!" case-encoding of module paths and versions in proxy URLs: every
 * upper-case letter becomes "!" + its lower-case form, so that paths differing
 * only in case map to distinct files on case-insensitive file systems.
 */
import { InvalidPathError, InvalidVersionError } from './errors.ts';
import { checkModulePath, elemProblem } from './module-path.ts';

const q = (s: string) => JSON.stringify(s);

function escapeString(s: string): string {
  return s.replace(/[A-Z]/g, (c) => '!' + c.toLowerCase());
}

/** The inverse of escapeString, or null when `escaped` is not something escapeString can produce. */
function unescapeString(escaped: string): string | null {
  let out = '';
  for (let i = 0; i < escaped.length; i++) {
    const c = escaped[i];
    if (c.charCodeAt(0) >= 0x80 || (c >= 'A' && c <= 'Z')) return null;
    if (c !== '!') {
      out += c;
      continue;
    }
    const next = escaped[++i];
    if (next === undefined || next < 'a' || next > 'z') return null;
    out += next.toUpperCase();
  }
  return out;
}

export function escapePath(path: string): string {
  checkModulePath(path);
  return escapeString(path);
}

export function escapeVersion(v: string): string {
  // Versions are file name elements; "!" or non-ASCII would make the encoding ambiguous.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the range is every non-ASCII code point, by design.
  if (elemProblem(v, 'file') !== null || v.includes('!') || /[^\x00-\x7f]/.test(v)) {
    throw new InvalidVersionError('version-escape', `version ${q(v)} cannot appear in a URL: disallowed version string`);
  }
  return escapeString(v);
}

export function unescapePath(escaped: string): string {
  const path = unescapeString(escaped);
  if (path === null) {
    throw new InvalidPathError(
      'path-escape',
      `invalid escaped module path ${q(escaped)}: upper-case letters must be written as "!" followed by the lower-case letter`,
    );
  }
  try {
    checkModulePath(path);
  } catch (e) {
    if (e instanceof InvalidPathError) throw new InvalidPathError(e.rule, `invalid escaped module path ${q(escaped)}: ${e.message}`);
    throw e;
  }
  return path;
}

export function unescapeVersion(escaped: string): string {
  const v = unescapeString(escaped);
  if (v === null) {
    throw new InvalidVersionError(
      'version-escape',
      `invalid escaped version ${q(escaped)}: upper-case letters must be written as "!" followed by the lower-case letter`,
    );
  }
  const p = elemProblem(v, 'file');
  if (p) throw new InvalidVersionError(p.rule, `invalid escaped version ${q(escaped)}: ${p.reason}`);
  return v;
}
