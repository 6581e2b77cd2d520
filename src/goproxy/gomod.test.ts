import { describe, expect, test } from 'bun:test';
import { InvalidGoModError } from './errors';
import { checkGoModModule, goModForZip, parseModuleDirective } from './gomod';

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

  test('refuses a go.mod naming another module, in words a person can act on', () => {
    expect(() => checkGoModModule('example.com/b', 'module example.com/a\n')).toThrow(
      'module path in go.mod is example.com/a but URL says example.com/b',
    );
  });

  test('refuses a go.mod without a module directive', () => {
    expect(() => checkGoModModule('example.com/a', 'go 1.21\n')).toThrow(InvalidGoModError);
  });
});
