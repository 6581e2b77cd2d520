/**
 * The checksum database as a proxy repository uses it: its GOSUMDB-style setting, the record of
 * one module version in a lookup answer (GONOSUMDB-style patterns are path-patterns.ts).
 * The signed note's Ed25519 signature and tile inclusion proofs are sumdb-verify.ts.
 */
import { GoProtocolError } from './errors';
import { escapePath, escapeVersion, unescapePath } from './escape';

export class SumdbError extends GoProtocolError {}

/** A GOSUMDB value: `name[+key] [url]`. */
export interface GoSumdb {
  name: string;
  /** The verifier key (`name+hash+key`), kept whole; parsed by sumdb-verify.ts parseVerifierKey. */
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
 * The module path a sumdb `rest` looks up ("lookup/{escaped module}@{version}"), or undefined for tiles,
 * latest and the like. A path that does not unescape is returned as written: it is still matched against
 * path rules before anything is sent upstream.
 */
export function sumdbLookupModule(rest: string): string | undefined {
  if (!rest.startsWith('lookup/')) return undefined;
  const at = rest.lastIndexOf('@');
  const escaped = rest.slice('lookup/'.length, at < 0 ? rest.length : at);
  try {
    return unescapePath(escaped);
  } catch {
    return escaped;
  }
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
