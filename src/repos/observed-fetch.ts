import type { Logger } from '../log';
import type { Metrics, UpstreamResult } from '../observability/metrics';

/**
 * The global fetch, each attempt reported as the repository's upstream request (status or failure, and
 * seconds) and, at debug level, logged with its URL and time to the response head.
 */
export function observedFetch({ metrics, log }: { metrics: Metrics; log: Logger }, repository: string): typeof fetch {
  const observed = async (input: string | URL | Request, init?: RequestInit) => {
    const t0 = performance.now();
    const seen = (status: UpstreamResult, err?: unknown) => {
      const ms = performance.now() - t0;
      metrics.upstream(repository, status, ms / 1000);
      log.debug?.('upstream request', {
        repository,
        method: init?.method ?? 'GET',
        url: input instanceof Request ? input.url : String(input),
        status,
        durationMs: Math.round(ms),
        ...(err ? { err: err as Error } : {}),
      });
    };
    try {
      const res = await fetch(input, init);
      seen(res.status);
      return res;
    } catch (err) {
      seen(init?.signal?.aborted ? 'aborted' : 'network_error', err);
      throw err;
    }
  };
  return observed as typeof fetch;
}
