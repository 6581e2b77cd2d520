/**
 * Just enough of the go.mod grammar (x/mod modfile) to find the
 * module directive, and the go.mod a module without one is given.
 */
import { InvalidGoModError } from './errors';

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

/** Refuses a go.mod whose module directive is missing or names another module than the URL. */
export function checkGoModModule(modulePath: string, goModText: string): void {
  const declared = parseModuleDirective(goModText);
  if (declared === null) {
    throw new InvalidGoModError('gomod-no-module', `go.mod has no module directive; add "module ${modulePath}"`);
  }
  if (declared !== modulePath) {
    throw new InvalidGoModError('gomod-module-mismatch', `module path in go.mod is ${declared} but URL says ${modulePath}`);
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
