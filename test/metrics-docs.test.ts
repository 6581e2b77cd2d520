/**
 * The operator's guide and the Grafana dashboard name metrics by hand; this holds them to what the server
 * actually exposes, so a renamed instrument cannot leave a dashboard panel silently empty.
 */
import { expect, test } from 'bun:test';
import { join } from 'node:path';
import { PrometheusMetrics } from '../src/observability/prometheus';

const ROOT = join(import.meta.dir, '..');

async function exposed(): Promise<Set<string>> {
  const text = await new PrometheusMetrics().registry.metrics();
  const names = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(m[1]);
    if (m[2] === 'histogram') for (const s of ['_bucket', '_count', '_sum']) names.add(m[1] + s);
  }
  return names;
}

/** Every orbitrepos_… name in a text, wildcards (orbitrepos_process_*) left out. */
function named(text: string): string[] {
  return [...new Set([...text.matchAll(/\borbitrepos_[a-z0-9_]+\b(?!\*)/g)].map((m) => m[0]))].filter((n) => !n.endsWith('_'));
}

test.each(['docs/operations.md', 'docs/grafana-dashboard.json'])('every metric %s names is one the server exposes', async (file) => {
  const names = await exposed();
  const used = named(await Bun.file(join(ROOT, file)).text());
  expect(used.length).toBeGreaterThan(10);
  expect(used.filter((n) => !names.has(n))).toEqual([]);
});
