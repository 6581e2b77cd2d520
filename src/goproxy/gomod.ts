/**
 * Just enough of the go.mod grammar (x/mod modfile) to find the
 * module directive, and the go.mod a module without one is given.
 */
import { InvalidGoModError } from './errors';
import { compareSemver } from './version';

type Line = { tokens: string[]; lineNo: number };

const PUNCT = new Set(['(', ')', '[', ']', '{', '}', ',']);

function syntax(lineNo: number, what: string): InvalidGoModError {
  return new InvalidGoModError('gomod-syntax', `go.mod:${lineNo}: ${what}`);
}

/** Splits go.mod text into lines of tokens, dropping comments, as modfile's lexer does. */
function tokenize(text: string): Line[] {
  const lines: Line[] = [];
  text.split('\n').forEach((raw, idx) => {
    const lineNo = idx + 1;
    const tokens: string[] = [];
    let i = 0;
    while (i < raw.length) {
      const c = raw[i];
      if (c === ' ' || c === '\t' || c === '\r') {
        i++;
      } else if (raw.startsWith('//', i)) {
        break;
      } else if (raw.startsWith('/*', i)) {
        throw syntax(lineNo, 'mod files must use // comments (not /* */ comments)');
      } else if (PUNCT.has(c)) {
        tokens.push(c);
        i++;
      } else if (c === '"' || c === '`') {
        let j = i + 1;
        while (j < raw.length && raw[j] !== c) j += raw[j] === '\\' && c === '"' ? 2 : 1;
        if (j >= raw.length) throw syntax(lineNo, 'unexpected newline in string');
        tokens.push(raw.slice(i, j + 1));
        i = j + 1;
      } else {
        let j = i;
        while (j < raw.length && !/[\s()[\]{},]/.test(raw[j]) && !raw.startsWith('//', j)) j++;
        tokens.push(raw.slice(i, j));
        i = j;
      }
    }
    if (tokens.length > 0) lines.push({ tokens, lineNo });
  });
  return lines;
}

const simpleEscapes: Record<string, string> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  '"': '"',
  "'": "'",
};

/** Go's strconv.Unquote for a double-quoted string. */
function unquote(tok: string, lineNo: number): string {
  const body = tok.slice(1, -1);
  return body.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)/g, (_m, e: string) => {
    if (e.length === 1) {
      const s = simpleEscapes[e];
      if (s === undefined) throw syntax(lineNo, `invalid escape \\${e} in quoted string`);
      return s;
    }
    const radix = /^[0-7]{3}$/.test(e) ? 8 : 16;
    return String.fromCodePoint(parseInt(radix === 8 ? e : e.slice(1), radix));
  });
}

function moduleArg(args: string[], lineNo: number): string {
  if (args.length !== 1) throw syntax(lineNo, 'usage: module module/path');
  const t = args[0];
  if (t.startsWith('"')) return unquote(t, lineNo);
  if (/["'`]/.test(t)) throw syntax(lineNo, 'unquoted string cannot contain quote');
  return t;
}

/** The module path a go.mod declares, or null when it declares none. */
export function parseModuleDirective(text: string): string | null {
  const lines = tokenize(text);
  let found: string | null = null;
  const record = (path: string, lineNo: number) => {
    if (found !== null) throw new InvalidGoModError('gomod-repeated-module', `go.mod:${lineNo}: repeated module statement`);
    found = path;
  };
  for (let i = 0; i < lines.length; i++) {
    const { tokens, lineNo } = lines[i];
    if (tokens[0] !== 'module') continue;
    if (tokens.length === 2 && tokens[1] === '(') {
      // Block form: every line up to ")" is one more "module" statement.
      for (i++; i < lines.length && !(lines[i].tokens.length === 1 && lines[i].tokens[0] === ')'); i++) {
        record(moduleArg(lines[i].tokens, lines[i].lineNo), lines[i].lineNo);
      }
      if (i >= lines.length) throw syntax(lineNo, 'unterminated module ( block');
      continue;
    }
    record(moduleArg(tokens.slice(1), lineNo), lineNo);
  }
  return found;
}

/** modfile.AutoQuote: quote only when the bare form would not lex back as one token. */
function autoQuote(s: string): string {
  return s === '' || /[\s"'`()[\]{},]|\/\/|\/\*/.test(s) ? JSON.stringify(s) : s;
}

/**
 * The go.mod served for a version (@v/{version}.mod): the root go.mod of its
 * zip, or for a module that predates go.mod, the one-line file the go command
 * synthesises itself, so our hash matches the one in its go.sum.
 */
export function goModForZip(modulePath: string, rootGoMod: Uint8Array | null): Uint8Array {
  if (rootGoMod) return rootGoMod;
  return new TextEncoder().encode(`module ${autoQuote(modulePath)}\n`);
}

/**
 * A version whose go.mod names another module than the URL (a fork published under its own path, its
 * go.mod still naming the original) is no error: the go command takes it as the target of a `replace`
 * directive, and only a `require` of it fails. What such a version is good for, in one line for its
 * uploader and its page; undefined when go.mod names the module of the URL or names none.
 */
export function replaceOnlyNote(modulePath: string, version: string, goModText: string): string | undefined {
  const declared = parseModuleDirective(goModText);
  if (declared === null || declared === modulePath) return undefined;
  return `go.mod names module ${declared}, not ${modulePath}: the go command uses this version only through a replace directive (replace ${declared} => ${modulePath} ${version}); a require of ${modulePath} fails`;
}

/** Refuses a go.mod without a module directive (the go command can use it in no way); another module's name is a fork (replaceOnlyNote). */
export function checkGoModModule(modulePath: string, goModText: string): void {
  if (parseModuleDirective(goModText) === null) {
    throw new InvalidGoModError('gomod-no-module', `go.mod has no module directive; add "module ${modulePath}"`);
  }
}

const GO_VERSION = /^([1-9][0-9]*)\.(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))?([a-z]+[0-9]+)?$/;
const LAX_GO_VERSION = /^v?(([1-9][0-9]*)\.(0|[1-9][0-9]*))([^0-9].*)$/;

/**
 * The version on a go.mod's `go` line as modfile.ParseLax reads it (a lax
 * "1.21-foo" becomes "1.21"), or null when there is none or the file does not
 * lex. x/mod's zip rules depend on it (which vendor/ files go into a zip).
 * Unlike ParseLax, errors in other directives are not looked for.
 */
export function goDirectiveVersion(text: string): string | null {
  let lines: Line[];
  try {
    lines = tokenize(text);
  } catch {
    return null;
  }
  let found: string | null = null;
  const record = (args: string[]): boolean => {
    if (found !== null || args.length !== 1) return false; // "repeated go statement" and a bad arity fail the whole parse
    let v = args[0];
    if (!GO_VERSION.test(v)) {
      const m = LAX_GO_VERSION.exec(v);
      if (!m) return false;
      v = m[1];
    }
    found = v;
    return true;
  };
  for (let i = 0; i < lines.length; i++) {
    const { tokens } = lines[i];
    if (tokens[0] !== 'go') continue;
    if (tokens.length === 2 && tokens[1] === '(') {
      for (i++; i < lines.length && !(lines[i].tokens.length === 1 && lines[i].tokens[0] === ')'); i++) {
        if (!record(lines[i].tokens)) return null;
      }
      if (i >= lines.length) return null;
      continue;
    }
    if (!record(tokens.slice(1))) return null;
  }
  return found;
}

/** One `retract` entry: a version (low === high) or an interval, and the rationale its comments give. */
export interface Retraction {
  low: string;
  high: string;
  rationale: string;
}

export interface GoModRequire {
  path: string;
  version: string;
  indirect: boolean;
}

/** What a module page shows of a go.mod: its deprecation, requirements and retractions. */
export interface GoModSummary {
  /** The text after "Deprecated:" in the module directive's comments; null: not deprecated. */
  deprecated: string | null;
  requires: GoModRequire[];
  retractions: Retraction[];
}

interface CommentedLine {
  tokens: string[];
  /** The comment on the line itself, without "//", trimmed; null: none. */
  suffix: string | null;
  /** The comment-only lines right above it (none blank in between), without "//". */
  before: string[];
}

/** Lines of tokens with their comments kept, for what lives in comments (deprecations, rationales). */
function commentedLines(text: string): CommentedLine[] {
  const out: CommentedLine[] = [];
  let pending: string[] = [];
  for (const raw of text.split('\n')) {
    let code = raw;
    let comment: string | null = null;
    let quote: string | null = null;
    for (let i = 0; i < raw.length; i++) {
      const c = raw[i];
      if (quote) {
        if (c === '\\' && quote === '"') i++;
        else if (c === quote) quote = null;
      } else if (c === '"' || c === '`') {
        quote = c;
      } else if (raw.startsWith('//', i)) {
        code = raw.slice(0, i);
        comment = raw.slice(i + 2).trim();
        break;
      }
    }
    const tokens = code.match(/"(?:[^"\\]|\\.)*"|`[^`]*`|[()[\],]|[^\s()[\],]+/g) ?? [];
    if (tokens.length === 0) {
      if (comment === null) pending = [];
      else pending.push(comment);
      continue;
    }
    out.push({ tokens, suffix: comment, before: pending });
    pending = [];
  }
  return out;
}

const unquoted = (tok: string) =>
  tok.startsWith('"') ? tok.slice(1, -1).replace(/\\(.)/g, '$1') : tok.startsWith('`') ? tok.slice(1, -1) : tok;

/** x/mod's rule: the paragraph of the comments that starts with "Deprecated:". */
function deprecationOf(comments: string[]): string | null {
  const at = comments.findIndex((c) => c.startsWith('Deprecated:'));
  if (at < 0) return null;
  const parts = [comments[at].slice('Deprecated:'.length).trim()];
  for (let i = at + 1; i < comments.length && comments[i] !== ''; i++) parts.push(comments[i]);
  return parts.join(' ').trim();
}

function retractionOf(tokens: string[], comments: string[]): Retraction | null {
  const rationale = comments.filter((c) => c !== '').join(' ');
  if (tokens[0] === '[') {
    // [low, high]
    if (tokens.length !== 5 || tokens[2] !== ',' || tokens[4] !== ']') return null;
    return { low: unquoted(tokens[1]), high: unquoted(tokens[3]), rationale };
  }
  if (tokens.length !== 1) return null;
  return { low: unquoted(tokens[0]), high: unquoted(tokens[0]), rationale };
}

function requireOf(tokens: string[], suffix: string | null): GoModRequire | null {
  if (tokens.length !== 2) return null;
  return { path: unquoted(tokens[0]), version: unquoted(tokens[1]), indirect: suffix !== null && /^indirect\b/.test(suffix) };
}

/**
 * Deprecation, requirements and retractions of a go.mod, for display. Lenient where the go command is
 * strict: a line it would refuse is skipped here, since the file was accepted when it was published.
 */
export function summarizeGoMod(text: string): GoModSummary {
  const lines = commentedLines(text);
  const summary: GoModSummary = { deprecated: null, requires: [], retractions: [] };
  for (let i = 0; i < lines.length; i++) {
    const { tokens, suffix, before } = lines[i];
    const verb = tokens[0];
    const block = tokens.length === 2 && tokens[1] === '(';
    const entries: CommentedLine[] = [];
    let blockComments: string[] = [];
    if (block) {
      blockComments = [...before, ...(suffix === null ? [] : [suffix])];
      for (i++; i < lines.length && !(lines[i].tokens.length === 1 && lines[i].tokens[0] === ')'); i++) entries.push(lines[i]);
    } else {
      entries.push({ tokens: tokens.slice(1), suffix, before });
    }
    for (const e of entries) {
      const comments = [...e.before, ...(e.suffix === null ? [] : [e.suffix])];
      if (verb === 'module') {
        summary.deprecated ??= deprecationOf(block ? [...blockComments, ...comments] : comments);
      } else if (verb === 'require') {
        const r = requireOf(e.tokens, e.suffix);
        if (r) summary.requires.push(r);
      } else if (verb === 'retract') {
        const r = retractionOf(e.tokens, block && comments.length === 0 ? blockComments : comments);
        if (r) summary.retractions.push(r);
      }
    }
  }
  return summary;
}

/** The retraction covering `version`, if any (intervals are inclusive, in semver order). */
export function retractionFor(version: string, retractions: Retraction[]): Retraction | null {
  return retractions.find((r) => compareSemver(r.low, version) <= 0 && compareSemver(version, r.high) <= 0) ?? null;
}
