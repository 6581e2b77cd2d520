import { createHash, timingSafeEqual } from 'node:crypto';
import { Elysia } from 'elysia';
import type { PrometheusMetrics } from '../observability/prometheus';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Constant-time, whatever the lengths: compares digests, so a wrong guess learns nothing from the time taken. */
function tokenMatches(authorization: string | null, token: string): boolean {
  const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  return !!m && timingSafeEqual(digest(m[1]), digest(token));
}

/**
 * GET /metrics in the Prometheus text format. Repository names appear in its labels, so set a token
 * (ORBITREPO_METRICS_TOKEN, the scraper's `authorization: {credentials: …}`) unless only the scraper can reach it.
 */
export function metricsRoute(metrics: PrometheusMetrics, opts: { token?: string; seed: string }) {
  return new Elysia({ name: 'orbitrepos.metrics', seed: opts.seed }).get(
    '/metrics',
    async ({ request }) => {
      if (opts.token && !tokenMatches(request.headers.get('authorization'), opts.token)) {
        return new Response('metrics need Authorization: Bearer <the ORBITREPO_METRICS_TOKEN value>\n', {
          status: 401,
          headers: { 'Content-Type': 'text/plain; charset=utf-8', 'WWW-Authenticate': 'Bearer realm="metrics"' },
        });
      }
      const { body, contentType } = await metrics.scrape();
      return new Response(body, { headers: { 'Content-Type': contentType, 'Cache-Control': 'no-store' } });
    },
    { detail: { hide: true } },
  );
}
