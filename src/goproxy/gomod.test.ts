import { describe, expect, test } from 'bun:test';
import { InvalidGoModError } from './errors';
import { checkGoModModule, goModForZip, parseModuleDirective, replaceOnlyNote, retractionFor, summarizeGoMod } from './gomod';

const dec = new TextDecoder();

describe('parseModuleDirective', () => {
  test.each([
    ['module example.com/a\n', 'example.com/a'],
    ['module example.com/a', 'example.com/a'],
    ['// comment\nmodule   example.com/a // trailing comment\n\ngo 1.21\n', 'example.com/a'],
    ['module "example.com/a"\n', 'example.com/a'],
    ['module "example.com/\\x61"\n', 'example.com/a'],
    ['\r\nmodule example.com/a\r\n', 'example.com/a'],
    ['go 1.21\nrequire (\n\texample.com/b v1.0.0\n)\nmodule example.com/a\n', 'example.com/a'],
    ['module (\n\texample.com/a\n)\n', 'example.com/a'],
    ['// Deprecated: use b\nmodule example.com/a\n', 'example.com/a'],
    ['go 1.21\n', null],
    ['', null],
    ['// module example.com/a\n', null],
    ['modules example.com/a\n', null],
  ])('finds the module in %p', (text, want) => {
    expect(parseModuleDirective(text)).toBe(want);
  });

  test.each([
    ['module example.com/a\nmodule example.com/b\n', 'gomod-repeated-module'],
    ['module\n', 'gomod-syntax'],
    ['module a b\n', 'gomod-syntax'],
    ['module "example.com/a\n', 'gomod-syntax'],
    ['module `example.com/a`\n', 'gomod-syntax'],
    ['module (\n\texample.com/a\n', 'gomod-syntax'],
    ['/* c */ module example.com/a\n', 'gomod-syntax'],
  ])('refuses the malformed %p with rule %p', (text, rule) => {
    try {
      parseModuleDirective(text);
      throw new Error('accepted');
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidGoModError);
      expect((e as InvalidGoModError).rule).toBe(rule);
    }
  });
});

describe('goModForZip', () => {
  test('a module without go.mod gets the one-line go.mod the go command synthesises', () => {
    expect(dec.decode(goModForZip('example.com/old', null))).toBe('module example.com/old\n');
  });

  test('a module with a go.mod is served exactly those bytes', () => {
    const bytes = new TextEncoder().encode('module example.com/a\n\ngo 1.22\n');
    expect(goModForZip('example.com/a', bytes)).toBe(bytes);
  });
});

describe('checkGoModModule', () => {
  test('accepts a go.mod naming the module of the URL', () => {
    expect(() => checkGoModModule('example.com/a', 'module example.com/a\n')).not.toThrow();
  });

  // A fork's go.mod names the module it forks; the go command takes it through replace, so must a server.
  test('accepts a go.mod naming another module', () => {
    expect(() => checkGoModModule('example.com/b', 'module example.com/a\n')).not.toThrow();
  });

  test('refuses a go.mod without a module directive', () => {
    expect(() => checkGoModModule('example.com/a', 'go 1.21\n')).toThrow(InvalidGoModError);
  });
});

describe('replaceOnlyNote', () => {
  test('says nothing of a go.mod naming the module of the URL, or naming none', () => {
    expect(replaceOnlyNote('example.com/a', 'v1.0.0', 'module example.com/a\n')).toBeUndefined();
    expect(replaceOnlyNote('example.com/a', 'v1.0.0', 'go 1.21\n')).toBeUndefined();
  });

  test('tells of a fork that it is usable through replace only, with the directive to write', () => {
    expect(replaceOnlyNote('example.com/fork', 'v1.2.0', 'module example.com/orig\n')).toBe(
      'go.mod names module example.com/orig, not example.com/fork: the go command uses this version only through a replace directive (replace example.com/orig => example.com/fork v1.2.0); a require of example.com/fork fails',
    );
  });
});

describe('summarizeGoMod', () => {
  const GOMOD = `// Deprecated: use example.com/b/v2 instead.
// It will not get fixes.
module example.com/b

go 1.22

require example.com/one v1.0.0
require (
	example.com/two v0.2.0 // indirect
	"example.com/three" v3.0.0
)

// Published too early.
retract v1.0.0

retract (
	[v1.1.0, v1.1.5] // a bad build
	v1.2.0 // leaks tokens
)
`;

  test('reads the deprecation paragraph, the requirements and each retraction with its rationale', () => {
    expect(summarizeGoMod(GOMOD)).toEqual({
      deprecated: 'use example.com/b/v2 instead. It will not get fixes.',
      requires: [
        { path: 'example.com/one', version: 'v1.0.0', indirect: false },
        { path: 'example.com/two', version: 'v0.2.0', indirect: true },
        { path: 'example.com/three', version: 'v3.0.0', indirect: false },
      ],
      retractions: [
        { low: 'v1.0.0', high: 'v1.0.0', rationale: 'Published too early.' },
        { low: 'v1.1.0', high: 'v1.1.5', rationale: 'a bad build' },
        { low: 'v1.2.0', high: 'v1.2.0', rationale: 'leaks tokens' },
      ],
    });
  });

  test.each([
    ['a trailing comment', 'module example.com/a // Deprecated: gone\n', 'gone'],
    ['a comment separated by a blank line', '// Deprecated: no\n\nmodule example.com/a\n', null],
    ['a comment that only mentions it', '// Not Deprecated: really\nmodule example.com/a\n', null],
    ['no module directive', 'go 1.22\n', null],
  ])('deprecation from %s', (_, text, want) => {
    expect(summarizeGoMod(text).deprecated).toBe(want);
  });

  test('a retraction without a comment has an empty rationale, and malformed lines are skipped', () => {
    const s = summarizeGoMod('module m\nretract v0.1.0\nretract [v1.0.0 v2.0.0]\nrequire broken\n');
    expect(s.retractions).toEqual([{ low: 'v0.1.0', high: 'v0.1.0', rationale: '' }]);
    expect(s.requires).toEqual([]);
  });

  test('a // inside a quoted path is not a comment', () => {
    expect(summarizeGoMod('module m\nrequire "example.com/a//b" v1.0.0 // indirect\n').requires).toEqual([
      { path: 'example.com/a//b', version: 'v1.0.0', indirect: true },
    ]);
  });
});

describe('retractionFor', () => {
  const rs = [
    { low: 'v1.0.0', high: 'v1.0.0', rationale: 'one' },
    { low: 'v1.1.0', high: 'v1.1.5', rationale: 'range' },
  ];
  test.each([
    ['v1.0.0', 'one'],
    ['v1.1.0', 'range'],
    ['v1.1.3-rc.1', 'range'],
    ['v1.1.5', 'range'],
    ['v1.1.6', null],
    ['v0.9.0', null],
  ])('%s is retracted by %p', (v, want) => {
    expect(retractionFor(v, rs)?.rationale ?? null).toBe(want);
  });
});
