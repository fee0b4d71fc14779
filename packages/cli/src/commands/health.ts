import type { Command } from 'commander'
import { examples } from '../output'
import { addServiceUrlOptions, serviceUrl, SERVICES, settingSource, type ServiceOptions } from '../services'

export interface Readiness {
  ready: boolean
  detail: string
}

/** A service's GET /ready: its database and broker answer. */
export const readiness = async (options: ServiceOptions, service: (typeof SERVICES)[number]): Promise<Readiness> => {
  const url = serviceUrl(options, service)
  try {
    const response = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(3_000) })
    const body = (await response.json()) as { checks?: Record<string, string> }
    const problems = Object.values(body.checks ?? {}).filter((check) => check !== 'ok')
    return { ready: response.ok, detail: response.ok ? 'ready' : problems.join('; ') || `HTTP ${response.status}` }
  } catch (error) {
    return { ready: false, detail: `no answer at ${url} (set by ${settingSource(service, 'url')}): ${(error as Error).message}` }
  }
}

export const registerHealthCommand = (program: Command) =>
  addServiceUrlOptions(
    program
      .command('health')
      .description('Show whether every service is ready (its database and broker answer); exit 1 if one is not')
      .option('--json', 'one JSON object per service, a line each')
      .addHelpText('after', examples('marketmesh health', 'MARKETMESH_ORDER_URL=http://order.internal:3033 marketmesh health --json'))
  ).action(async (options: ServiceOptions & { json?: boolean }) => {
    const results = await Promise.all(SERVICES.map(async (service) => ({ service: service.name, ...(await readiness(options, service)) })))
    for (const result of results) {
      const { service, ready, detail } = result
      process.stdout.write(options.json ? `${JSON.stringify(result)}\n` : `${ready ? 'ok  ' : 'FAIL'}  ${service.padEnd(16)} ${detail}\n`)
    }
    if (results.some((result) => !result.ready)) process.exitCode = 1
  })
