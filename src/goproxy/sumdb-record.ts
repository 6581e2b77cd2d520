/**
 * The checksum database as a proxy repository uses it: its GOSUMDB-style setting, the record of
 * one module version in a lookup answer, and the go command's GONOSUMDB path patterns.
 * Not here: the signed note's Ed25519 signature and tile inclusion proofs (a verifier key).
 */
import { GoProtocolError } from './errors';
import { escapePath, escapeVersion } from './escape';

export class SumdbError extends GoProtocolError {}

/** A GOSUMDB value: `name[+key] [url]`. */
export interface GoSumdb {
  name: string;
  /** The verifier key after the name (`name+hash+key`), kept whole; not checked by this server yet. */
  key?: string;
  url?: string;
}

/** Parses a GOSUMDB value; undefined for "off" or empty (no checksum database). */
export function parseGosumdb(value: string): GoSumdb | undefined {
  const fields = value.trim().split(/\s+/).filter(Boolean);
  if (fields.length === 0 || (fields.length === 1 && fields[0] === 'off')) return undefined;
  if (fields.length > 2) throw new SumdbError('gosumdb-syntax', `GOSUMDB ${JSON.stringify(value)} is not "name[+key] [url]"`);
  const [first, url] = fields;
  const plus = first.indexOf('+');
  const name = plus < 0 ? first : first.slice(0, plus);
  if (!/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?$/.test(name))
    throw new SumdbError('gosumdb-name', `GOSUMDB names ${JSON.stringify(name)}, which is not a checksum database name`);
  return { name, ...(plus < 0 ? {} : { key: first }), ...(url ? { url } : {}) };
}

/** The record of one module version: its zip's `h1:` and its go.mod's. */
export interface SumdbRecord {
  h1?: string;
  goModH1?: string;
}

/** `rest` of the sumdb path that looks a module version up ("lookup/{escaped module}@{escaped version}"). */
export function sumdbLookupPath(module: string, version: string): string {
  return `lookup/${escapePath(module)}@${escapeVersion(version)}`;
}

/**
 * The lines for `module`@`version` in a lookup answer: a record id, then `M V h1:…` and
 * `M V/go.mod h1:…`, a blank line, then the signed tree head (ignored here). A line for
 * another module or version, or a line that is no record, means the answer is not one.
 */
export function parseLookup(text: string, module: string, version: string): SumdbRecord {
  const lines = text.split('\n');
  if (!/^[0-9]+$/.test(lines[0] ?? '')) throw new SumdbError('sumdb-lookup', 'the lookup answer does not start with a record id');
  const out: SumdbRecord = {};
  for (const line of lines.slice(1)) {
    if (line === '') break;
    const f = line.split(' ');
    if (f.length !== 3 || f[0] !== module || !/^h1:[A-Za-z0-9+/]{43}=$/.test(f[2]))
      throw new SumdbError('sumdb-lookup', `the lookup answer for ${module}@${version} has a foreign line ${JSON.stringify(line)}`);
    if (f[1] === version) out.h1 = f[2];
    else if (f[1] === `${version}/go.mod`) out.goModH1 = f[2];
    else throw new SumdbError('sumdb-lookup', `the lookup answer for ${module}@${version} has a line for ${f[1]}`);
  }
  if (!out.h1 && !out.goModH1) throw new SumdbError('sumdb-lookup', `the lookup answer has no record for ${module}@${version}`);
  return out;
}

/** Checks a comma-separated GONOSUMDB pattern list; returns the message for the first bad pattern. */
export function badGlobPattern(patterns: string): string | undefined {
  for (const p of splitPatterns(patterns)) {
    try {
      globRegExp(p);
    } catch {
      return `pattern ${JSON.stringify(p)} is malformed (an unclosed "[" or a trailing "\\")`;
    }
  }
  return undefined;
}

/**
 * The go command's GONOSUMDB/GOPRIVATE matching (module.MatchPrefixPatterns): a pattern with n
 * path elements matches when the first n elements of the module path match it as path.Match
 * would (`*` and `?` never cross a "/"). Malformed patterns match nothing, as in the go command.
 */
export function matchesGlobPatterns(patterns: string, modulePath: string): boolean {
  const elems = modulePath.split('/');
  for (const p of splitPatterns(patterns)) {
    const n = p.split('/').length;
    if (elems.length < n) continue;
    let re: RegExp;
    try {
      re = globRegExp(p);
    } catch {
      continue;
    }
    if (re.test(elems.slice(0, n).join('/'))) return true;
  }
  return false;
}

function splitPatterns(patterns: string): string[] {
  return patterns
    .split(',')
    .map((p) => p.trim().replace(/\/+$/, ''))
    .filter(Boolean);
}

function globRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\') {
      if (i + 1 >= pattern.length) throw new Error('trailing backslash');
      re += `\\${pattern[++i]}`;
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) throw new Error('unclosed class');
      let cls = pattern.slice(i + 1, end);
      const negate = cls.startsWith('^');
      if (negate) cls = cls.slice(1);
      re += `[${negate ? '^/' : ''}${cls.replace(/[\]\\[]/g, '\\$&')}]`;
      i = end;
    } else re += c.replace(/[.+^${}()|]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
