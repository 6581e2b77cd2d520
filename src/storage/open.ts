import { mkdir } from 'node:fs/promises';
import type { StorageConfig } from '../config';
import type { BlobStore } from './blob-store';
import { FsBlobStore } from './fs-blob-store';

/**
 * The store the config asks for. It does not probe the backend: an S3 endpoint that is down at
 * start-up should show in /ready (check()), not stop the process.
 */
export async function openBlobStore(config: StorageConfig): Promise<BlobStore> {
  if (config.type === 's3') {
    if (!config.s3) throw new Error('storage type is s3 but no S3 settings were given');
    // Loaded only when used: the AWS SDK is tens of MiB of a filesystem-backed server's idle memory.
    const { S3BlobStore } = await import('./s3-blob-store');
    return new S3BlobStore(config.s3);
  }
  await mkdir(config.path, { recursive: true });
  return new FsBlobStore(config.path);
}
