// A running service's Prometheus counters as a bench reads them (test/support has the same for the tests, in TypeScript).

/** The sum of every sample of `name`, whatever its labels, from the service's `GET /metrics`. */
export const scrapedMetric = async (url, name) => {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(30_000) })).text()
  return text
    .split('\n')
    .map((line) => /^([a-zA-Z_:][\w:]*)(?:\{.*\})? (\S+)$/.exec(line))
    .filter((sample) => sample?.[1] === name)
    .reduce((sum, sample) => sum + Number(sample[2]), 0)
}
