import { describe, expect, test } from 'bun:test';
import { checkPathPatterns, InvalidPathPattern, matchPathPatterns, splitPathPatterns } from './path-patterns';

describe('matchPathPatterns, as the go command reads GOPRIVATE', () => {
  test.each([
    ['corp.example', 'corp.example', true],
    ['corp.example', 'corp.example/team/core', true],
    ['corp.example', 'corp.example.evil/team', false],
    ['corp.example/', 'corp.example/team', true],
    ['corp.example/team', 'corp.example/teams/core', false],
    ['corp.example/team/core/v2', 'corp.example/team/core', false],
    ['github.com/myorg/*', 'github.com/myorg/tool', true],
    ['github.com/myorg/*', 'github.com/myorg/tool/sub/v2', true],
    ['github.com/myorg/*', 'github.com/myorg', false],
    ['github.com/myorg/*', 'github.com/other/tool', false],
    ['*/quote', 'rsc.io/quote', true],
    ['*/quo', 'rsc.io/quote', false],
    ['*.corp.example', 'git.corp.example/x', true],
    ['*.corp.example', 'corp.example/x', false],
    ['?.io/quote', 'x.io/quote', true],
    ['[a-c].io', 'b.io/m', true],
    ['[^a-c].io', 'b.io/m', false],
    ['rsc.io\\*', 'rsc.io*/m', true],
  ])('%s against %s is %p', (pattern, path, expected) => {
    expect(matchPathPatterns([pattern], path)).toBe(expected);
  });

  test('any pattern of a list may match, and empty entries of a comma list are skipped', () => {
    const patterns = splitPathPatterns(' ,corp.example, github.com/myorg/*,,');
    expect(patterns).toEqual(['corp.example', 'github.com/myorg/*']);
    expect(matchPathPatterns(patterns, 'github.com/myorg/x')).toBe(true);
    expect(matchPathPatterns(patterns, 'corp.example/a')).toBe(true);
    expect(matchPathPatterns(patterns, 'example.com/a')).toBe(false);
    expect(matchPathPatterns([], 'corp.example/a')).toBe(false);
  });

  // The go command ignores a malformed glob (path.Match's ErrBadPattern): it matches nothing, never everything.
  test('a malformed pattern matches nothing', () => {
    expect(matchPathPatterns(['corp[', 'corp.example'], 'corp.example/a')).toBe(true);
    expect(matchPathPatterns(['corp['], 'corp[/a')).toBe(false);
  });
});

describe('checkPathPatterns', () => {
  test.each([
    ['corp[', "'[' has no closing ']'"],
    ['corp\\', "'\\' at the end escapes nothing"],
    ['[]x]', "']' in a character class must be escaped"],
    ['[-a]', "'-' in a character class must be escaped"],
    ['[z-a]', 'range z-a runs backwards'],
  ])('refuses %s, saying why', (pattern, reason) => {
    let err: unknown;
    try {
      checkPathPatterns([pattern]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidPathPattern);
    expect((err as Error).message).toContain(`module path pattern ${JSON.stringify(pattern)} is malformed`);
    expect((err as Error).message).toContain(reason);
  });

  test('accepts the patterns people write', () => {
    expect(() => checkPathPatterns(['corp.example', 'github.com/myorg/*', '*.corp.example/', '[a-z]?.io'])).not.toThrow();
  });
});
