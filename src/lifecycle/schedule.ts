import type { Logger } from '../log';

/**
 * Runs the storage lifecycle (blob collection, cleanup policies) every intervalMs in this process. Every
 * process of a deployment runs one; the collector's advisory lock lets one of them work at a time. The
 * timer never keeps the process alive, and stop() waits for a run in progress.
 */
export class LifecycleSchedule {
  private timer: ReturnType<typeof setInterval> | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly runOnce: () => Promise<void>,
    private readonly log: Logger,
  ) {}

  /** Starts the timer; an interval of 0 (or less) leaves the schedule off. */
  start(): void {
    if (this.intervalMs <= 0 || this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref?.();
  }

  /** Starts a run unless one is in progress here; a failure is logged, and the next tick tries again. */
  tick(): Promise<void> {
    this.running ??= this.runOnce()
      .catch((err) => this.log.error('storage lifecycle run failed', { err: err as Error }))
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
