import { describe, expect, test } from 'bun:test';
import { InvalidVersionError } from './errors';
import { checkIncompatible, checkUploadVersion } from './publish-rules';

describe('upload version rules', () => {
  test.each([
    ['example.com/a', 'v1.0.0'],
    ['example.com/a', 'v0.0.0-20240102030405-abcdefabcdef'],
    ['example.com/a', 'v2.0.0+incompatible'],
    ['example.com/a/v2', 'v2.1.0-rc.1'],
    ['gopkg.in/yaml.v3', 'v3.0.1'],
  ])('%s@%s is accepted before any byte is read', (module, version) => {
    expect(() => checkUploadVersion(module, version)).not.toThrow();
  });

  test.each([
    ['example.com/a', 'v1.0', InvalidVersionError],
    ['example.com/a', '1.0.0', InvalidVersionError],
    ['example.com/a', 'v1.0.0+build', InvalidVersionError],
    ['example.com/a', 'v2.0.0', InvalidVersionError],
    ['example.com/a/v2', 'v1.0.0', InvalidVersionError],
  ])('%s@%s is refused', (module, version, kind) => {
    expect(() => checkUploadVersion(module, version)).toThrow(kind);
  });

  test('a non-canonical version is told its canonical form', () => {
    expect(() => checkUploadVersion('example.com/a', 'v1.2')).toThrow('use v1.2.0');
  });

  test.each([
    ['example.com/a', 'v2.0.0+incompatible', false, null],
    ['example.com/a', 'v2.0.0+incompatible', true, 'needs a /v2 suffix'],
    ['example.com/a', 'v1.0.0+incompatible', false, 'major version v1 is compatible'],
    ['example.com/a/v3', 'v3.0.0+incompatible', false, 'already has a major version suffix'],
    ['example.com/a', 'v1.0.0', true, null],
  ])('+incompatible rule for %s@%s (go.mod in zip: %p)', (module, version, hasGoMod, refusal) => {
    const check = () => checkIncompatible(module, version, hasGoMod);
    if (refusal === null) expect(check).not.toThrow();
    else expect(check).toThrow(refusal);
  });
});
