import type { Command } from 'commander'

/** Where each service answers; override with MARKETMESH_<SERVICE>_URL, e.g. MARKETMESH_ORDER_URL. */
export const serviceUrls = (env: NodeJS.ProcessEnv = process.env) => ({
  'user-service': env.MARKETMESH_USER_URL ?? 'http://127.0.0.1:3031',
  'catalog-service': env.MARKETMESH_CATALOG_URL ?? 'http://127.0.0.1:3032',
  'order-service': env.MARKETMESH_ORDER_URL ?? 'http://127.0.0.1:3033',
  'notify-service': env.MARKETMESH_NOTIFY_URL ?? 'http://127.0.0.1:3034'
})

const readiness = async (url: string) => {
  try {
    const response = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(3_000) })
    const body = (await response.json()) as { checks?: Record<string, string> }
    const problems = Object.values(body.checks ?? {}).filter((check) => check !== 'ok')
    return { ready: response.ok, detail: response.ok ? 'ready' : problems.join('; ') || `HTTP ${response.status}` }
  } catch (error) {
    return { ready: false, detail: `no answer at ${url} (${(error as Error).message})` }
  }
}

export const registerHealthCommand = (program: Command) =>
  program
    .command('health')
    .description('Show whether every service is ready (its database and broker answer); exit 1 if one is not')
    .action(async () => {
      const results = await Promise.all(Object.entries(serviceUrls()).map(async ([service, url]) => ({ service, ...(await readiness(url)) })))
      for (const { service, ready, detail } of results) {
        process.stdout.write(`${ready ? 'ok  ' : 'FAIL'}  ${service.padEnd(16)} ${detail}\n`)
      }
      if (results.some((result) => !result.ready)) process.exitCode = 1
    })
