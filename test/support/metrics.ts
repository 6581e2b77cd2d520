/** Reads one sample of a Prometheus text exposition: the value of `name` with exactly these labels, 0 when absent. */
export function sample(exposition: string, name: string, labels: Record<string, string> = {}): number {
  const want = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',');
  for (const line of exposition.split('\n')) {
    if (line.startsWith('#') || !line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = (m[2] ?? '')
      .split(/,(?=[a-zA-Z_]+=")/)
      .filter(Boolean)
      .sort()
      .join(',');
    if (got === want) return Number(m[3]);
  }
  return 0;
}

/** Log lines collected in memory, parsed: a destination for createLogger. */
export function memoryLog() {
  const raw: string[] = [];
  return {
    raw,
    destination: { write: (line: string) => raw.push(line) },
    get lines(): Record<string, unknown>[] {
      return raw.map((l) => JSON.parse(l));
    },
    requests(): Record<string, unknown>[] {
      return this.lines.filter((l) => l.msg === 'request');
    },
  };
}
