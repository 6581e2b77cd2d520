import { describe, expect, test } from 'bun:test';
import { BadRequest } from '../errors';
import { InvalidVersionError } from '../goproxy/errors';
import { blobGoFile, sha256OfBlobKey } from './go-file';
import { checkIncompatible, checkUploadVersion, infoJson } from './hosted';

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
    ['example.com/a', 'v1.0', BadRequest],
    ['example.com/a', '1.0.0', BadRequest],
    ['example.com/a', 'v1.0.0+build', BadRequest],
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

describe('served metadata', () => {
  test('.info has Version and Time to the second in UTC, as public proxies write it', () => {
    expect(infoJson('v1.2.3', new Date('2024-05-06T07:08:09.123Z'))).toBe('{"Version":"v1.2.3","Time":"2024-05-06T07:08:09Z"}');
  });

  test('a content-addressed key yields its sha256, any other key null', () => {
    const sha = 'ab' + 'c'.repeat(62);
    expect(sha256OfBlobKey(`blobs/sha256/ab/${'c'.repeat(62)}`)).toBe(sha);
    expect(sha256OfBlobKey('tmp/123')).toBeNull();
    expect(sha256OfBlobKey(`blobs/sha256/ab/${'c'.repeat(61)}`)).toBeNull();
  });

  test('a blob GoFile carries the content hash as a strong ETag and opens lazily', () => {
    let opened = 0;
    const store = { get: async () => (opened++, new Blob(['x']).stream()) } as never;
    const file = blobGoFile(store, 'blobs/sha256/ab/cd', 1, 'abcd');
    expect(file).toMatchObject({ size: 1, etag: '"sha256-abcd"' });
    expect(opened).toBe(0);
  });
});
