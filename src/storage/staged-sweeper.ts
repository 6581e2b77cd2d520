import type { Logger } from '../log';
import type { BlobStore } from './blob-store';
import { STAGED_MAX_AGE_MS, sweepStaged } from './content-addressed';

export interface StagedSweeperOptions {
  store: BlobStore;
  log: Logger;
  /** Time between sweeps; 0: only the one at start. */
  intervalMs: number;
  /** Staged blobs younger than this are left alone; empty: STAGED_MAX_AGE_MS. */
  maxAgeMs?: number;
}

export interface StagedSweeper {
  /** Sweeps now (a sweep already running is waited for, not doubled); resolves to how many were removed. */
  sweep(): Promise<number>;
  /** Stops the timer and waits for a sweep in progress. */
  stop(): Promise<void>;
}

/**
 * Sweeps the leftovers of uploads and fills that a killed process left staged, once at start and
 * then every intervalMs, so a server that runs for months does not keep a killed upload's 500 MiB
 * until its next restart. In the background: a failed sweep is logged and tried again next time.
 */
export function startStagedSweeper(opts: StagedSweeperOptions): StagedSweeper {
  const maxAgeMs = opts.maxAgeMs ?? STAGED_MAX_AGE_MS;
  let running: Promise<number> | undefined;
  let stopped = false;

  const sweep = () => {
    running ??= sweepStaged(opts.store, maxAgeMs)
      .then((removed) => {
        if (removed > 0) opts.log.info('removed staged blobs left by an interrupted upload or fill', { removed });
        return removed;
      })
      .catch((err) => {
        opts.log.warn('could not sweep staged blobs', { err: err as Error });
        return 0;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };

  void sweep();
  const timer = opts.intervalMs > 0 ? setInterval(() => !stopped && void sweep(), opts.intervalMs) : undefined;
  // The sweep must never be what keeps a process (or a test run) alive.
  timer?.unref();
  return {
    sweep,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
