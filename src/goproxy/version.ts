/**
 * Semantic versions exactly as the go command reads them (x/mod semver
 * and module): a leading "v", shorthands "v1" / "v1.2" valid but not canonical,
 * build metadata ignored for precedence and dropped by canonicalisation except
 * "+incompatible", which is part of a module version's identity.
 */
import { InvalidVersionError } from './errors';

interface Parsed {
  major: string;
  minor: string;
  patch: string;
  /** ".0.0" or ".0" when the version was a shorthand, else "". */
  short: string;
  prerelease: string;
  build: string;
}

const isDigit = (c: string) => c >= '0' && c <= '9';
const isIdentChar = (c: string) => (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || isDigit(c) || c === '-';

function parseInt_(v: string): [string, string] | null {
  if (v === '' || !isDigit(v[0])) return null;
  let i = 1;
  while (i < v.length && isDigit(v[i])) i++;
  if (v[0] === '0' && i !== 1) return null;
  return [v.slice(0, i), v.slice(i)];
}

// A numeric identifier with a leading zero ("01") is not allowed in a prerelease.
const isBadNum = (s: string) => /^0[0-9]+$/.test(s);

function parseIdents(v: string, prerelease: boolean): [string, string] | null {
  let i = 1;
  let start = 1;
  while (i < v.length && !(prerelease && v[i] === '+')) {
    const c = v[i];
    if (!isIdentChar(c) && c !== '.') return null;
    if (c === '.') {
      if (start === i || (prerelease && isBadNum(v.slice(start, i)))) return null;
      start = i + 1;
    }
    i++;
  }
  if (start === i || (prerelease && isBadNum(v.slice(start, i)))) return null;
  return [v.slice(0, i), v.slice(i)];
}

function parse(v: string): Parsed | null {
  if (typeof v !== 'string' || v === '' || v[0] !== 'v') return null;
  const p: Parsed = { major: '', minor: '', patch: '', short: '', prerelease: '', build: '' };
  let r = parseInt_(v.slice(1));
  if (!r) return null;
  [p.major, v] = r;
  if (v === '') return { ...p, minor: '0', patch: '0', short: '.0.0' };
  if (v[0] !== '.') return null;
  r = parseInt_(v.slice(1));
  if (!r) return null;
  [p.minor, v] = r;
  if (v === '') return { ...p, patch: '0', short: '.0' };
  if (v[0] !== '.') return null;
  r = parseInt_(v.slice(1));
  if (!r) return null;
  [p.patch, v] = r;
  if (v[0] === '-') {
    r = parseIdents(v, true);
    if (!r) return null;
    [p.prerelease, v] = r;
  }
  if (v[0] === '+') {
    r = parseIdents(v, false);
    if (!r) return null;
    [p.build, v] = r;
  }
  return v === '' ? p : null;
}

export function isValidVersion(v: string): boolean {
  return parse(v) !== null;
}

/** "v1", "v2", ... or "" when v is not a valid version. */
export function versionMajor(v: string): string {
  const p = parse(v);
  return p ? 'v' + p.major : '';
}

export function versionBuild(v: string): string {
  return parse(v)?.build ?? '';
}

export function versionPrerelease(v: string): string {
  return parse(v)?.prerelease ?? '';
}

/** module.CanonicalVersion: "" for an invalid version. */
function canonicalOrEmpty(v: string): string {
  const p = parse(v);
  if (!p) return '';
  let c = p.build ? v.slice(0, v.length - p.build.length) : v + p.short;
  if (p.build === '+incompatible') c += '+incompatible';
  return c;
}

/** Answers of isCanonicalVersion by version text: asked on every warm answer (bounded; starts over when full). */
const canonicalAnswers = new Map<string, boolean>();

export function isCanonicalVersion(v: string): boolean {
  let answer = canonicalAnswers.get(v);
  if (answer === undefined) {
    answer = parse(v) !== null && canonicalOrEmpty(v) === v;
    if (canonicalAnswers.size >= 4096) canonicalAnswers.clear();
    canonicalAnswers.set(v, answer);
  }
  return answer;
}

/** The canonical form of v ("v1.2" -> "v1.2.0"); throws for an invalid version. */
export function canonicalVersion(v: string): string {
  const c = canonicalOrEmpty(v);
  if (!c) throw new InvalidVersionError('version-syntax', `version ${JSON.stringify(v)} is not a semantic version`);
  return c;
}

export function isPrerelease(v: string): boolean {
  return versionPrerelease(v) !== '';
}

function compareInt(x: string, y: string): number {
  if (x === y) return 0;
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  return x < y ? -1 : 1;
}

function comparePrerelease(x: string, y: string): number {
  if (x === y) return 0;
  if (x === '') return 1;
  if (y === '') return -1;
  const xs = x.slice(1).split('.');
  const ys = y.slice(1).split('.');
  for (let i = 0; i < xs.length && i < ys.length; i++) {
    const dx = xs[i];
    const dy = ys[i];
    if (dx === dy) continue;
    const nx = /^[0-9]+$/.test(dx);
    const ny = /^[0-9]+$/.test(dy);
    if (nx !== ny) return nx ? -1 : 1;
    if (nx && dx.length !== dy.length) return dx.length < dy.length ? -1 : 1;
    return dx < dy ? -1 : 1;
  }
  return xs.length === ys.length ? 0 : xs.length < ys.length ? -1 : 1;
}

/** semver.Compare: precedence only, so "v1.0.0+a" and "v1" compare equal; invalid < valid. */
export function compareSemver(a: string, b: string): number {
  const pa = parse(a);
  const pb = parse(b);
  if (!pa || !pb) return pa ? 1 : pb ? -1 : 0;
  return (
    compareInt(pa.major, pb.major) ||
    compareInt(pa.minor, pb.minor) ||
    compareInt(pa.patch, pb.patch) ||
    comparePrerelease(pa.prerelease, pb.prerelease)
  );
}

/**
 * A total order for sorting: semver precedence first, then plain string order
 * so versions of equal precedence ("v1.0.0" and "v1.0.0+incompatible", or two
 * invalid strings) still sort deterministically. Invalid versions sort lowest.
 */
export function compareVersions(a: string, b: string): number {
  const c = compareSemver(a, b);
  if (c !== 0) return c;
  return a === b ? 0 : a < b ? -1 : 1;
}

export function sortVersions(vs: Iterable<string>): string[] {
  return [...vs].sort(compareVersions);
}

const pseudoVersionRE = /^v[0-9]+\.(0\.0-|\d+\.\d+-([^+]*\.)?0\.)\d{14}-[A-Za-z0-9]+(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;

export function isPseudoVersion(v: string): boolean {
  return v.split('-').length - 1 >= 2 && isValidVersion(v) && pseudoVersionRE.test(v);
}

function splitPseudo(v: string): { base: string; timestamp: string; build: string } {
  if (!isPseudoVersion(v)) {
    throw new InvalidVersionError('pseudo-version', `${JSON.stringify(v)} is not a pseudo-version`);
  }
  const build = versionBuild(v);
  let rest = v.slice(0, v.length - build.length);
  rest = rest.slice(0, rest.lastIndexOf('-')); // drop the revision
  const dash = rest.lastIndexOf('-');
  const dot = rest.lastIndexOf('.');
  // "vX.Y.Z-pre.0.TIME" / "vX.Y.(Z+1)-0.TIME" keep the timestamp after a dot; "vX.0.0-TIME" after the dash.
  const cut = Math.max(dot, dash);
  return { base: rest.slice(0, cut), timestamp: rest.slice(cut + 1), build };
}

/** The commit time a pseudo-version encodes (UTC). Throws for a non-pseudo-version or an impossible date. */
export function pseudoVersionTime(v: string): Date {
  const { timestamp: t } = splitPseudo(v);
  const [y, mo, d, h, mi, s] = [t.slice(0, 4), t.slice(4, 6), t.slice(6, 8), t.slice(8, 10), t.slice(10, 12), t.slice(12, 14)].map(Number);
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, s, 0);
  // Date rolls 31 Feb over into March; the go command refuses such a timestamp, so must we.
  const ok =
    date.getUTCFullYear() === y &&
    date.getUTCMonth() === mo - 1 &&
    date.getUTCDate() === d &&
    date.getUTCHours() === h &&
    date.getUTCMinutes() === mi &&
    date.getUTCSeconds() === s;
  if (!ok) throw new InvalidVersionError('pseudo-version', `pseudo-version ${JSON.stringify(v)} has malformed time ${JSON.stringify(t)}`);
  return date;
}

function decDecimal(decimal: string): string {
  const digits = decimal.split('');
  let i = digits.length - 1;
  for (; i >= 0 && digits[i] === '0'; i--) digits[i] = '9';
  if (i < 0) return '';
  if (i === 0 && digits[i] === '1' && digits.length > 1) digits.shift();
  else digits[i] = String(Number(digits[i]) - 1);
  return digits.join('');
}

/**
 * The release a pseudo-version builds on ("v1.2.3" for "v1.2.4-0.2019...-abc"),
 * or "" when it has none (the "vX.0.0-TIME-REV" form).
 */
export function pseudoVersionBase(v: string): string {
  const { base, build } = splitPseudo(v);
  const pre = versionPrerelease(base);
  if (pre === '') {
    if (build !== '') {
      throw new InvalidVersionError(
        'pseudo-version',
        `pseudo-version ${JSON.stringify(v)} lacks a base version but has build metadata ${JSON.stringify(build)}`,
      );
    }
    return '';
  }
  if (pre === '-0') {
    const release = base.slice(0, -2);
    const i = release.lastIndexOf('.');
    const patch = decDecimal(release.slice(i + 1));
    if (patch === '') {
      throw new InvalidVersionError(
        'pseudo-version',
        `pseudo-version ${JSON.stringify(v)}: version before ${release} would have a negative patch number`,
      );
    }
    return release.slice(0, i + 1) + patch + build;
  }
  return base.slice(0, -2) + build; // drop the ".0" before the timestamp
}

/** The @v/list body: canonical tagged versions only, deduplicated, ascending. */
export function listVersions(vs: Iterable<string>): string[] {
  const keep = new Set<string>();
  for (const v of vs) if (isCanonicalVersion(v) && !isPseudoVersion(v)) keep.add(v);
  return sortVersions(keep);
}

/**
 * The @v/list a proxy passes on: every canonical version its upstream listed, pseudo-versions
 * included (an untagged module lists nothing else; the go command drops them itself where it
 * must), deduplicated and ascending. Only what is no version at all is left out.
 */
export function passThroughVersions(vs: Iterable<string>): string[] {
  const keep = new Set<string>();
  for (const v of vs) if (isCanonicalVersion(v)) keep.add(v);
  return sortVersions(keep);
}

/** The lines of an upstream @v/list: a version, then optionally its time (RFC 3339), as the go command reads them. */
export function parseVersionList(text: string): LatestCandidate[] {
  const out: LatestCandidate[] = [];
  for (const line of text.split('\n')) {
    const [version, time] = line.trim().split(/\s+/);
    if (!version) continue;
    out.push(time !== undefined && !Number.isNaN(new Date(time).getTime()) ? { version, time } : { version });
  }
  return out;
}

/**
 * @latest derived from a @v/list when the upstream has no @latest (a static or mirrored
 * GOPROXY answers 404/410): the rules of selectLatest, skipping pseudo-versions whose time
 * cannot be read (the go command skips them too). The version, or undefined.
 */
export function latestFromList(candidates: Iterable<LatestCandidate>): string | undefined {
  const usable = [...candidates].filter((c) => {
    if (!isCanonicalVersion(c.version) || !isPseudoVersion(c.version) || c.time !== undefined) return true;
    try {
      pseudoVersionTime(c.version);
      return true;
    } catch {
      return false;
    }
  });
  return selectLatest(usable)?.version;
}

export interface LatestCandidate {
  version: string;
  time?: string | Date;
}

function candidateTime(c: LatestCandidate): number {
  const t = c.time !== undefined ? new Date(c.time).getTime() : NaN;
  return Number.isNaN(t) ? pseudoVersionTime(c.version).getTime() : t;
}

/**
 * What @latest answers: the highest release, else the highest prerelease, else
 * the most recent pseudo-version (by its recorded time, falling back to the time
 * it encodes). Non-canonical and invalid versions are never chosen.
 */
export function selectLatest<T extends LatestCandidate>(candidates: Iterable<T>): T | undefined {
  let release: T | undefined;
  let pre: T | undefined;
  let pseudo: T | undefined;
  for (const c of candidates) {
    if (!isCanonicalVersion(c.version)) continue;
    if (isPseudoVersion(c.version)) {
      if (!pseudo) pseudo = c;
      else {
        const d = candidateTime(c) - candidateTime(pseudo);
        if (d > 0 || (d === 0 && compareVersions(c.version, pseudo.version) > 0)) pseudo = c;
      }
    } else if (isPrerelease(c.version)) {
      if (!pre || compareVersions(c.version, pre.version) > 0) pre = c;
    } else if (!release || compareVersions(c.version, release.version) > 0) {
      release = c;
    }
  }
  return release ?? pre ?? pseudo;
}
