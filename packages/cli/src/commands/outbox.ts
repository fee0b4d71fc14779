import type { Command } from 'commander'
import { examples, formatAge, formatTable, print, printJson } from '../output'
import { readOutboxBacklog, type OutboxBacklog } from '../outbox-backlog'
import { addDatabaseOptions, describeDatabase, SERVICES, databaseUrl, type ServiceOptions } from '../services'

export interface ServiceBacklog extends Partial<OutboxBacklog> {
  service: string
  error?: string
}

/** Every service's outbox backlog; a database that does not answer gets its error, naming the setting. */
export const readBacklogs = (options: ServiceOptions) =>
  Promise.all(
    SERVICES.map(async (service): Promise<ServiceBacklog> => {
      try {
        return { service: service.name, ...(await readOutboxBacklog(databaseUrl(options, service))) }
      } catch (error) {
        return { service: service.name, error: `${describeDatabase(options, service)}: ${(error as Error).message}` }
      }
    })
  )

export const registerOutboxCommand = (program: Command) =>
  addDatabaseOptions(
    program
      .command('outbox')
      .description(
        "Show each service's outbox: events committed but not yet published, the age of the oldest, and how many were published in the last minute (read from each service's database); exit 1 if a database does not answer"
      )
      .option('--json', 'one JSON object per service, a line each')
      .addHelpText(
        'after',
        examples(
          'marketmesh outbox',
          'MARKETMESH_ORDER_DATABASE_URL=postgres://ops@db-order/marketmesh_order marketmesh outbox --json',
          'marketmesh outbox --catalog-database-url postgres://postgres@10.0.0.5/marketmesh_catalog'
        )
      )
  ).action(async (options: ServiceOptions & { json?: boolean }) => {
    const backlogs = await readBacklogs(options)
    if (options.json) backlogs.forEach(printJson)
    else {
      const rows = backlogs.map((backlog) =>
        backlog.error
          ? [backlog.service, '-', '-', '-']
          : [
              backlog.service,
              String(backlog.unsent),
              backlog.oldestUnsentAgeSeconds === null ? '-' : formatAge(backlog.oldestUnsentAgeSeconds!),
              String(backlog.sentLastMinute)
            ]
      )
      print(formatTable(['service', 'unsent', 'oldest unsent', 'sent last minute'], rows))
      for (const { error } of backlogs) if (error) process.stderr.write(`marketmesh: ${error}\n`)
    }
    if (backlogs.some((backlog) => backlog.error)) process.exitCode = 1
  })
