import type { AuditLog } from '../audit';
import type { Database } from '../db/open';
import type { RepositoryRow } from '../db/schema';
import type { Logger } from '../log';
import type { Metrics } from '../observability/metrics';
import type { BlobStore } from '../storage/blob-store';
import type { FetchCoalescer } from './coalesce';
import type { DownloadRecorder } from './download-stats';
import type { ResolvedGosumdb } from './gosumdb';
import type { GoRepository } from './repository';
import type { RepositoryService } from './repository-service';

/** What a repository implementation may use, each a typed field made once per plugin instance (src/context.ts). No HTTP, no request context. */
export interface RepoDeps {
  db: Database;
  storage: BlobStore;
  audit: AuditLog;
  log: Logger;
  /** Cache outcomes, upstream attempts, fills: reported here, never to an HTTP layer. */
  metrics: Metrics;
  repositories: RepositoryService;
  /** One per process: every proxy repository instance coalesces its upstream fetches with every other. */
  coalescer: FetchCoalescer;
  /** One per process: zip downloads counted in memory and written in batches. */
  downloads: DownloadRecorder;
  /** The checksum database proxy repositories check their fills against; undefined: none known (no verification). */
  gosumdb?: ResolvedGosumdb;
  /**
   * Uploads and proxy fills run a full collection every this many bytes they stream (src/repos/periodic-full-gc.ts):
   * memory stays flat, each collection pauses every request in flight. 0: never.
   */
  fullGcEveryBytes: number;
  /** Builds the repository of another row (groups use it for their members). */
  instantiate(row: RepositoryRow): GoRepository;
}
