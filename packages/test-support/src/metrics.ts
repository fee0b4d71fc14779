// A running service's Prometheus counters, read from its `GET /metrics` on its ops port (OPS_PORT):
// for the tests, and for the benches (plain scripts, which import the built module).

/**
 * The sum of every sample of `name` whose labels include `labels`, e.g.
 * scrapedMetric(opsUrl, 'events_consumed_total', { type: 'order.paid' }).
 * @param url the service's ops port, e.g. `http://127.0.0.1:4033`
 */
export const scrapedMetric = async (url: string, name: string, labels: Record<string, string> = {}): Promise<number> => {
  // A timeout: a fault test polls it while services come and go.
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(30_000) })).text()
  return text
    .split('\n')
    .flatMap((line) => {
      const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
      if (!sample || sample[1] !== name) return []
      const found = Object.fromEntries([...(sample[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map(([, key, value]) => [key, value]))
      return Object.entries(labels).every(([key, expected]) => found[key] === expected) ? [Number(sample[3])] : []
    })
    .reduce((sum, value) => sum + value, 0)
}
