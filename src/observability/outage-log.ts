import type { LogFields, Logger } from '../log';

/** One outage line per repository per this long: an upstream that is down fails every request, and says so once. */
export const OUTAGE_LOG_EVERY_MS = 60_000;

interface Window {
  /** Date.now() of the last line written. */
  at: number;
  /** Lines not written since then. */
  suppressed: number;
}

// Per logger (each app has its own), so two apps in one process, or two tests, do not silence each other.
const windows = new WeakMap<Logger, Map<string, Window>>();

/**
 * An upstream outage (5xx, timeout, a body broken off) at warn, at most once per repository per minute;
 * the line carries how many were left out since the last one. The metrics count every one.
 */
export function warnOutage(log: Logger, repository: string, message: string, fields: LogFields = {}, now = Date.now()): void {
  let byRepository = windows.get(log);
  if (!byRepository) windows.set(log, (byRepository = new Map()));
  const w = byRepository.get(repository);
  if (w && now - w.at < OUTAGE_LOG_EVERY_MS) {
    w.suppressed++;
    return;
  }
  byRepository.set(repository, { at: now, suppressed: 0 });
  log.warn(message, { repository, ...fields, ...(w?.suppressed ? { suppressed: w.suppressed } : {}) });
}
