import type { AuditLog } from '../audit';
import type { Database, DatabaseHandle } from '../db/open';
import type { RepositoryRow } from '../db/schema';
import type { Logger } from '../log';
import type { BlobStore } from '../storage/blob-store';
import type { GoRepository } from './repository';
import type { RepositoryService } from './repository-service';

/** What a GoRepository implementation may use. No HTTP, no request context. */
export interface RepoDeps {
  database: DatabaseHandle;
  db: Database;
  storage: BlobStore;
  audit: AuditLog;
  log: Logger;
  repositories: RepositoryService;
  /** Builds the GoRepository of another row (groups use it for their members). */
  instantiate(row: RepositoryRow): GoRepository;
  /** Process-wide shared services that repositories wrap themselves in (coalescing, caches); keyed by name. */
  shared: Map<string, unknown>;
}
