import { sql } from 'drizzle-orm';
import type { Database } from '../db/open';
import { moduleVersions } from '../db/schema';
import type { Logger } from '../log';
import { type ExpiringReader, isExpiringReader } from './expiring';
import type { FileRange, GoFile, GoRepository, ModuleReader } from './repository';

/** How often each process adds its counts to the database. */
export const DOWNLOAD_FLUSH_MS = 5_000;

interface Pending {
  repositoryId: number;
  module: string;
  version: string;
  count: number;
  last: number;
}

/**
 * Download counts per version without a database write per download: a hit only bumps a counter in
 * memory; every few seconds (and at close) one UPDATE adds each version's count and moves its last
 * download time forward. A process that dies loses at most its last few seconds of counts.
 */
export class DownloadRecorder {
  private pending = new Map<string, Pending>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly db: Database,
    private readonly log: Logger,
    private readonly flushMs = DOWNLOAD_FLUSH_MS,
  ) {}

  record(repositoryId: number, module: string, version: string, at = Date.now()): void {
    const key = `${repositoryId}\n${module}\n${version}`;
    const seen = this.pending.get(key);
    if (seen) {
      seen.count++;
      if (at > seen.last) seen.last = at;
    } else {
      this.pending.set(key, { repositoryId, module, version, count: 1, last: at });
    }
    if (!this.timer && this.flushMs > 0) {
      this.timer = setInterval(() => void this.flush(), this.flushMs);
      this.timer.unref?.();
    }
  }

  /** Writes what was counted so far; concurrent calls share one write. */
  flush(): Promise<void> {
    this.flushing ??= this.write().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flushing;
    await this.flush();
  }

  private async write(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = [...this.pending.values()];
    this.pending = new Map();
    const values = sql.join(
      batch.map(
        (p) =>
          sql`(${p.repositoryId}::integer, ${p.module}::text, ${p.version}::text, ${p.count}::bigint, ${new Date(p.last).toISOString()}::timestamptz)`,
      ),
      sql`, `,
    );
    try {
      await this.db.execute(sql`
        update ${moduleVersions} as m
        set download_count = m.download_count + v.n,
            last_downloaded_at = greatest(m.last_downloaded_at, v.t)
        from (values ${values}) as v(repository_id, module_path, version, n, t)
        where m.repository_id = v.repository_id and m.module_path = v.module_path and m.version = v.version`);
    } catch (err) {
      // Counts are worth a retry, not an outage: put them back for the next flush.
      for (const p of batch) {
        const key = `${p.repositoryId}\n${p.module}\n${p.version}`;
        const seen = this.pending.get(key);
        if (seen) {
          seen.count += p.count;
          seen.last = Math.max(seen.last, p.last);
        } else this.pending.set(key, p);
      }
      this.log.warn('could not write download counts; they are kept for the next try', { err: err as Error, versions: batch.length });
    }
  }
}

/**
 * The repository, its reader counting each zip download: a body sent whole, or from its first byte (a
 * client resuming a download, or reading the rest of one, does not count twice), however it is sent
 * (GoFile.sent). HEAD and 304 send no body.
 */
export function countingDownloads(repo: GoRepository, recorder: DownloadRecorder): GoRepository {
  const inner = repo.reader;
  const id = repo.row.id;
  const reader: ModuleReader & Partial<ExpiringReader> = {
    list: (module) => inner.list(module),
    latest: (module) => inner.latest(module),
    // How long a list holds (a proxy's metadata row) is passed on, or a cache in front would keep it forever.
    ...(isExpiringReader(inner)
      ? { listExpiring: (module: string) => inner.listExpiring(module), latestExpiring: (module: string) => inner.latestExpiring(module) }
      : {}),
    info: (module, version) => inner.info(module, version),
    mod: (module, version) => inner.mod(module, version),
    async zip(module, version): Promise<GoFile> {
      const file = await inner.zip(module, version);
      const counted = (f: GoFile): GoFile => ({
        ...f,
        sent: (range?: FileRange) => {
          f.sent?.(range);
          if (!range || range.start === 0) recorder.record(id, module, version);
        },
      });
      const { arriving } = file;
      if (!arriving) return counted(file);
      // A fill streamed to its first client counts when that client takes the live body.
      return {
        ...counted(file),
        arriving: {
          length: arriving.length,
          take: () => {
            const body = arriving.take();
            if (body) recorder.record(id, module, version);
            return body;
          },
          stored: async () => counted(await arriving.stored()),
        },
      };
    },
  };
  return { row: repo.row, reader, publisher: repo.publisher, remover: repo.remover, checksums: repo.checksums };
}
