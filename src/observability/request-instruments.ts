import type { Registry } from 'prom-client';

/**
 * The per-request instruments (requests, duration histogram, response bytes by route kind and status),
 * counted in plain numbers per label pair and turned into prom-client's exposition only at a scrape.
 * prom-client's own Counter and Histogram hash and validate their labels on every call, which cost a
 * tenth of a warm answer; here the label pair is resolved once, and a request is a few additions. The
 * text a scrape returns is the one prom-client's Counter and Histogram write (same names, labels, order).
 */

interface Series {
  kind: string;
  status: string;
  count: number;
  sum: number;
  bytes: number;
  /** Observations per bucket (not cumulative); the last slot is above every bound. */
  buckets: Float64Array;
}

interface MetricValue {
  labels: Record<string, string | number>;
  sharedLabels?: Record<string, string>;
  value: number;
  metricName?: string;
}

interface CustomMetric {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  get(): Promise<{ name: string; help: string; type: string; values: MetricValue[]; aggregator: 'sum' }>;
  getForPromString?(): Promise<{ name: string; help: string; type: string; values: MetricValue[]; aggregator: 'sum' }>;
  reset(): void;
}

export class RequestInstruments {
  /** kind -> status -> series. */
  private readonly byKind = new Map<string, Map<number, Series>>();

  constructor(
    registry: Registry,
    names: { requests: string; requestSeconds: string; responseBytes: string },
    private readonly bounds: number[],
  ) {
    const all = () => [...this.byKind.values()].flatMap((m) => [...m.values()]);
    const reset = () => this.byKind.clear();
    const metric = (
      name: string,
      help: string,
      type: 'counter' | 'histogram',
      values: (promString: boolean) => MetricValue[],
    ): CustomMetric => {
      const out = (promString: boolean) => Promise.resolve({ name, help, type, values: values(promString), aggregator: 'sum' as const });
      return { name, help, type, aggregator: 'sum', get: () => out(false), getForPromString: () => out(true), reset };
    };
    const add = (m: CustomMetric) => registry.registerMetric(m as unknown as Parameters<Registry['registerMetric']>[0]);
    add(
      metric(names.requests, 'HTTP requests answered, by route kind and status', 'counter', () =>
        all().map((s) => ({ labels: { kind: s.kind, status: s.status }, value: s.count })),
      ),
    );
    add(
      metric(
        names.requestSeconds,
        'Seconds from a request to its response head (a streamed body is not waited for)',
        'histogram',
        (promString) =>
          all().flatMap((s) => {
            const labels = { kind: s.kind, status: s.status };
            // As prom-client's Histogram: the series' labels after `le` in the text, merged into one set in JSON.
            const value = (own: Record<string, string | number>, v: number, suffix: string): MetricValue =>
              promString
                ? { labels: own, sharedLabels: labels, value: v, metricName: `${names.requestSeconds}${suffix}` }
                : { labels: { ...own, ...labels }, value: v, metricName: `${names.requestSeconds}${suffix}` };
            let acc = 0;
            const out = this.bounds.map((le, i) => {
              acc += s.buckets[i];
              return value({ le }, acc, '_bucket');
            });
            out.push(value({ le: '+Inf' }, s.count, '_bucket'), value({}, s.sum, '_sum'), value({}, s.count, '_count'));
            return out;
          }),
      ),
    );
    add(
      metric(names.responseBytes, 'Response body bytes served, by route kind', 'counter', () => {
        const byKind = new Map<string, number>();
        for (const s of all()) if (s.bytes > 0) byKind.set(s.kind, (byKind.get(s.kind) ?? 0) + s.bytes);
        return [...byKind].map(([kind, value]) => ({ labels: { kind }, value }));
      }),
    );
  }

  observe(kind: string, status: number, seconds: number, bytes: number): void {
    let statuses = this.byKind.get(kind);
    if (!statuses) this.byKind.set(kind, (statuses = new Map()));
    let s = statuses.get(status);
    if (!s) {
      s = { kind, status: String(status), count: 0, sum: 0, bytes: 0, buckets: new Float64Array(this.bounds.length + 1) };
      statuses.set(status, s);
    }
    s.count++;
    s.sum += seconds;
    s.bytes += bytes;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]) i++;
    s.buckets[i]++;
  }
}
