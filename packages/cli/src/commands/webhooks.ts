import type { Command } from 'commander'
import { confirm, examples, formatTable, print, printJson } from '../output'
import { addDatabaseOptions, databaseUrl, describeDatabase, SERVICES, type ServiceOptions } from '../services'
import { listEndpoints, listFailedDeliveries, retryFailedDeliveries, withNotifyDatabase, type DeliveryFilter } from '../webhook-deliveries'

const notify = SERVICES.find((service) => service.name === 'notify-service')!

const inNotify = async <T>(options: ServiceOptions, work: Parameters<typeof withNotifyDatabase<T>>[1]) => {
  try {
    return await withNotifyDatabase(databaseUrl(options, notify), work)
  } catch (error) {
    throw new Error(`${describeDatabase(options, notify)}: ${(error as Error).message}`)
  }
}

const SECONDS = { s: 1, m: 60, h: 3600, d: 86400 } as const

/** `30m`, `2h`, `7d` → seconds. */
const age = (text: string) => {
  const match = /^(\d+)([smhd])$/.exec(text)
  if (!match) throw new Error(`--since takes a duration like 30m, 2h or 7d, not '${text}'`)
  return Number(match[1]) * SECONDS[match[2] as keyof typeof SECONDS]
}

const count = (text: string) => {
  const value = Number(text)
  if (!Number.isInteger(value) || value < 1) throw new Error(`--limit takes a whole number above 0, not '${text}'`)
  return value
}

interface FilterOptions extends ServiceOptions {
  endpoint?: string
  type?: string
  since?: number
  limit: number
}

const filterOptions = (command: Command) =>
  command
    .option('--endpoint <id>', 'only deliveries to this endpoint')
    .option('--type <eventType>', 'only deliveries of this event type, e.g. order.paid')
    .option('--since <duration>', 'only deliveries that failed within this long, e.g. 1h, 7d', age)
    .option('--limit <n>', 'at most this many', count, 100)

const filterOf = (options: FilterOptions): DeliveryFilter => ({
  endpoint: options.endpoint,
  type: options.type,
  sinceSeconds: options.since,
  limit: options.limit
})

export const registerWebhooksCommands = (program: Command) => {
  const webhooks = program
    .command('webhooks')
    .description("Inspect webhook endpoints and failed deliveries, and retry them (in notify-service's database)")
    .addHelpText(
      'after',
      examples(
        'marketmesh webhooks endpoints',
        'marketmesh webhooks failed --since 1d',
        'marketmesh webhooks retry --endpoint 0b6d7c2e-5d0e-4c8a-9d43-0c5b1b8f9a11 --yes'
      )
    )

  addDatabaseOptions(
    webhooks
      .command('endpoints')
      .description('List the endpoints: owner, URL, status (and why disabled), deliveries pending and failed, the last success')
      .option('--owner <id>', "only this seller's or admin's")
      .option('--json', 'one JSON object per endpoint, a line each')
  ).action(async (options: ServiceOptions & { owner?: string; json?: boolean }) => {
    const endpoints = await inNotify(options, (client) => listEndpoints(client, options.owner))
    if (options.json) return endpoints.forEach(printJson)
    print(
      formatTable(
        ['endpoint', 'owner', 'url', 'status', 'pending', 'failed', 'last success'],
        endpoints.map((endpoint) => [
          endpoint.id,
          endpoint.owner,
          endpoint.url,
          endpoint.disabledReason ? `${endpoint.status} (${endpoint.disabledReason})` : endpoint.status,
          String(endpoint.pending),
          String(endpoint.failed),
          endpoint.lastSuccessAt ? new Date(endpoint.lastSuccessAt).toISOString() : '-'
        ])
      )
    )
  })

  addDatabaseOptions(
    filterOptions(webhooks.command('failed').description('List failed deliveries, newest first, with the last answer or error')).option(
      '--json',
      'one JSON object per delivery, a line each'
    )
  ).action(async (options: FilterOptions & { json?: boolean }) => {
    const deliveries = await inNotify(options, (client) => listFailedDeliveries(client, filterOf(options)))
    if (options.json) return deliveries.forEach(printJson)
    print(
      formatTable(
        ['delivery', 'endpoint', 'type', 'attempts', 'created', 'last answer'],
        deliveries.map((delivery) => [
          delivery.id,
          delivery.endpointId,
          delivery.eventType,
          String(delivery.attempts),
          new Date(delivery.createdAt).toISOString(),
          delivery.lastStatusCode === null ? (delivery.lastError ?? '-') : String(delivery.lastStatusCode)
        ])
      )
    )
  })

  addDatabaseOptions(
    filterOptions(
      webhooks
        .command('retry')
        .description(
          'Send the failed deliveries that match once more, now, with their webhook-id (receivers skip what they had); deliveries to disabled endpoints stay failed. Asks first unless --yes.'
        )
        .option('--yes', 'do not ask (required when stdin is not a terminal)')
    )
  ).action(async (options: FilterOptions & { yes?: boolean }) => {
    const filter = filterOf(options)
    if (!options.yes) {
      const matching = await inNotify(options, (client) => listFailedDeliveries(client, filter))
      const refusal = 'retry sends failed deliveries again and stdin is not a terminal to confirm it: run it again with --yes'
      if (!(await confirm(`Retry ${matching.length} failed deliveries?`, refusal))) {
        print('retried nothing')
        return
      }
    }
    const retried = await inNotify(options, (client) => retryFailedDeliveries(client, filter))
    print(`queued ${retried.length} deliveries to be sent again`)
  })
  return webhooks
}
