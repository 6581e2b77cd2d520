import type { ByteRange } from './blob-store';

/**
 * Keys are '/'-separated relative paths. Every backend applies the same rules so that a key
 * that works on S3 cannot escape the root on the filesystem (and vice versa). A bad key is a
 * programming error, not a client mistake, so this throws a plain Error.
 */
export function assertValidKey(key: string): void {
  if (
    key === '' ||
    key.startsWith('/') ||
    key.includes('\\') ||
    key.includes('\0') ||
    key.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')
  ) {
    throw new Error(`invalid blob key ${JSON.stringify(key)}: want relative '/'-separated segments without '.', '..' or '\\'`);
  }
}

export function assertValidRange(range: ByteRange): void {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || start < 0 || (end !== undefined && (!Number.isSafeInteger(end) || end < start))) {
    throw new RangeError(`invalid byte range ${JSON.stringify(range)}`);
  }
}
