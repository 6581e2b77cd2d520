/**
 * Module path patterns in the go command's GOPRIVATE syntax (golang.org/x/mod/module.MatchPrefixPatterns):
 * a comma-separated list of path.Match globs, each matching a path *prefix* of as many elements as the glob
 * has, so `corp.example` matches `corp.example/team/core` and `github.com/myorg/*` matches every repository
 * of myorg and everything below it. Same answers as the go command, so a pattern copied from GOPRIVATE or
 * GONOSUMDB means here what it means there.
 */

export class InvalidPathPattern extends Error {
  constructor(
    readonly pattern: string,
    reason: string,
  ) {
    super(`module path pattern ${JSON.stringify(pattern)} is malformed: ${reason}`);
  }
}

const compiled = new Map<string, RegExp>();

/** One rune of a class, with its escape; Go refuses an unescaped '-' or ']' where a rune is expected. */
function classRune(chars: string[], at: number, pattern: string): [string, number] {
  const c = chars[at];
  if (c === undefined) throw new InvalidPathPattern(pattern, "'[' has no closing ']'");
  if (c === '-' || c === ']') throw new InvalidPathPattern(pattern, `'${c}' in a character class must be escaped with '\\'`);
  if (c === '\\') {
    const next = chars[at + 1];
    if (next === undefined) throw new InvalidPathPattern(pattern, "'\\' at the end escapes nothing");
    return [next, at + 2];
  }
  return [c, at + 1];
}

const literal = (c: string) => c.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');

/** A path.Match glob as an anchored regular expression; throws InvalidPathPattern where Go says ErrBadPattern. */
function compile(glob: string): RegExp {
  const hit = compiled.get(glob);
  if (hit) return hit;
  const chars = [...glob];
  let out = '';
  let i = 0;
  while (i < chars.length) {
    const c = chars[i];
    if (c === '*') {
      out += '[^/]*';
      i++;
    } else if (c === '?') {
      out += '[^/]';
      i++;
    } else if (c === '\\') {
      if (i + 1 >= chars.length) throw new InvalidPathPattern(glob, "'\\' at the end escapes nothing");
      out += literal(chars[i + 1]);
      i += 2;
    } else if (c === '[') {
      i++;
      let negated = false;
      if (chars[i] === '^') {
        negated = true;
        i++;
      }
      let items = '';
      let first = true;
      for (;;) {
        if (!first && chars[i] === ']') {
          i++;
          break;
        }
        first = false;
        const [lo, afterLo] = classRune(chars, i, glob);
        i = afterLo;
        if (chars[i] === '-') {
          const [hi, afterHi] = classRune(chars, i + 1, glob);
          if (lo.codePointAt(0)! > hi.codePointAt(0)!) throw new InvalidPathPattern(glob, `range ${lo}-${hi} runs backwards`);
          items += `${literal(lo)}-${literal(hi)}`;
          i = afterHi;
        } else {
          items += literal(lo);
        }
      }
      out += `[${negated ? '^' : ''}${items}]`;
    } else {
      out += literal(c);
      i++;
    }
  }
  const re = new RegExp(`^${out}$`, 'u');
  compiled.set(glob, re);
  return re;
}

/** The patterns of a comma-separated list as the go command reads them (trailing slashes dropped, empty entries skipped), also forgiving spaces around entries. */
export function splitPathPatterns(globs: string): string[] {
  return globs
    .split(',')
    .map((g) => g.trim().replace(/\/+$/, ''))
    .filter((g) => g !== '');
}

/** Throws InvalidPathPattern naming the first malformed pattern; for validating what an administrator types. */
export function checkPathPatterns(patterns: readonly string[]): void {
  for (const p of patterns) compile(p.replace(/\/+$/, ''));
}

/** The first `n + 1` elements of a path (everything before its (n+1)th slash), or null when it has fewer. */
function leadingElements(target: string, slashes: number): string | null {
  let n = slashes;
  for (let i = 0; i < target.length; i++) {
    if (target[i] === '/') {
      if (n === 0) return target.slice(0, i);
      n--;
    }
  }
  return n > 0 ? null : target;
}

/**
 * Whether the module path matches any pattern as a prefix (module.MatchPrefixPatterns). A malformed
 * pattern matches nothing here, as in the go command; checkPathPatterns refuses it where it is written.
 */
export function matchPathPatterns(patterns: readonly string[], target: string): boolean {
  for (const raw of patterns) {
    const glob = raw.replace(/\/+$/, '');
    if (glob === '') continue;
    const prefix = leadingElements(target, [...glob].filter((c) => c === '/').length);
    if (prefix === null) continue;
    try {
      if (compile(glob).test(prefix)) return true;
    } catch (err) {
      if (!(err instanceof InvalidPathPattern)) throw err;
    }
  }
  return false;
}
