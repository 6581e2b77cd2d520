import { describe, expect, test } from 'bun:test';
import { blobGoFile, sha256OfBlobKey } from './go-file';

describe('served metadata', () => {
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
