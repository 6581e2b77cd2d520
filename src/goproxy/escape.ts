/**
 * The "!" case-encoding of module paths and versions in proxy URLs: every
 * upper-case letter becomes "!" + its lower-case form, so that paths differing
 * only in case map to distinct files on case-insensitive file systems.
 */
import { InvalidPathError, InvalidVersionError } from './errors';
import { checkModulePath, elemProblem } from './module-path';

const q = (s: string) => JSON.stringify(s);

function escapeString(s: string): string {
  return s.replace(/[A-Z]/g, (c) => '!' + c.toLowerCase());
}

/** Why an escaped string is not one escapeString could have produced: a stable rule and a reason naming the character. */
interface EscapeProblem {
  rule: 'escape-non-ascii' | 'escape-upper-case' | 'escape-bang';
  reason: string;
}

/** The inverse of escapeString, or the first character that escapeString could not have produced, and why. */
function unescapeString(escaped: string): string | EscapeProblem {
  let out = '';
  for (let i = 0; i < escaped.length; i++) {
    const c = escaped[i];
    if (c.charCodeAt(0) >= 0x80) {
      const whole = String.fromCodePoint(escaped.codePointAt(i) ?? 0xfffd);
      return { rule: 'escape-non-ascii', reason: `non-ASCII character ${q(whole)} at offset ${i}: only ASCII is allowed` };
    }
    if (c >= 'A' && c <= 'Z') {
      return { rule: 'escape-upper-case', reason: `upper-case ${q(c)} at offset ${i} must be written as ${q(`!${c.toLowerCase()}`)}` };
    }
    if (c !== '!') {
      out += c;
      continue;
    }
    const next = escaped[++i];
    if (next === undefined || next < 'a' || next > 'z') {
      const after = next === undefined ? 'nothing' : q(next);
      return { rule: 'escape-bang', reason: `"!" at offset ${i - 1} is followed by ${after}: it may only precede a lower-case letter` };
    }
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
  if (typeof path !== 'string')
    throw new InvalidPathError(`path-${path.rule}`, `invalid escaped module path ${q(escaped)}: ${path.reason}`);
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
  if (typeof v !== 'string') throw new InvalidVersionError(`version-${v.rule}`, `invalid escaped version ${q(escaped)}: ${v.reason}`);
  const p = elemProblem(v, 'file');
  if (p) throw new InvalidVersionError(p.rule, `invalid escaped version ${q(escaped)}: ${p.reason}`);
  return v;
}
