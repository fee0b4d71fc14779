import { setTimeout as sleep } from 'node:timers/promises'
import type { Command } from 'commander'
import { consumerQueueNames, EVENT_CONSUMERS } from '@marketmesh/shared/ops'
import { addBrokerOptions, queueState, withConnection, type BrokerOptions, type QueueState } from '../broker'
import { positiveInteger } from '../letter-filter'
import { examples, formatTable, print, printJson } from '../output'
import { addDatabaseOptions, addServiceUrlOptions, SERVICES, type Service, type ServiceOptions } from '../services'
import { readiness } from './health'
import { readBacklogs } from './outbox'

interface StatusOptions extends BrokerOptions, ServiceOptions {
  json?: boolean
  watch?: number | true
}

interface ServiceStatus {
  service: string
  ready: boolean
  readiness: string
  /** Undefined for a service that consumes nothing. */
  queue?: QueueState | null
  deadLetters?: number | null
  outboxUnsent: number | null
  problems: string[]
}

const consumes = (service: Service) => (EVENT_CONSUMERS[service.name] as readonly string[]).length > 0

/** The broker's view of every consuming service's queues; undefined (with the error) when the broker does not answer. */
const readQueues = async (options: StatusOptions) => {
  try {
    return await withConnection(options.amqpUrl, async (connection) => {
      const states = new Map<string, { queue?: QueueState; deadLetters?: QueueState }>()
      for (const service of SERVICES.filter(consumes)) {
        const names = consumerQueueNames(options.prefix, service.name)
        states.set(service.name, {
          queue: await queueState(connection, names.queue),
          deadLetters: await queueState(connection, names.deadLetterQueue)
        })
      }
      return { states, error: undefined }
    })
  } catch (error) {
    return { states: undefined, error: (error as Error).message }
  }
}

const readStatus = async (options: StatusOptions) => {
  const [ready, queues, backlogs] = await Promise.all([
    Promise.all(SERVICES.map((service) => readiness(options, service))),
    readQueues(options),
    readBacklogs(options)
  ])
  const services = SERVICES.map((service, index): ServiceStatus => {
    const problems = ready[index].ready ? [] : [`${service.name} is not ready: ${ready[index].detail}`]
    const backlog = backlogs[index]
    if (backlog.error) problems.push(backlog.error)
    const status: ServiceStatus = {
      service: service.name,
      ready: ready[index].ready,
      readiness: ready[index].detail,
      outboxUnsent: backlog.unsent ?? null,
      problems
    }
    if (!consumes(service)) return status
    const state = queues.states?.get(service.name)
    status.queue = state?.queue ?? null
    status.deadLetters = state ? (state.deadLetters?.messages ?? 0) : null
    if (state && !state.queue) problems.push(`${consumerQueueNames(options.prefix, service.name).queue} is not declared`)
    else if (state?.queue?.consumers === 0) problems.push(`nothing consumes ${consumerQueueNames(options.prefix, service.name).queue}`)
    return status
  })
  const problems = [...(queues.error ? [queues.error] : []), ...services.flatMap((service) => service.problems)]
  return { healthy: problems.length === 0, services, problems }
}

const cell = (value: number | null | undefined) => (value === undefined ? '-' : value === null ? '?' : String(value))

const printStatus = (status: Awaited<ReturnType<typeof readStatus>>) => {
  const rows = status.services.map((service) => [
    service.service,
    service.ready ? 'ready' : 'NOT READY',
    service.queue === undefined ? '-' : cell(service.queue?.messages ?? null),
    service.queue === undefined ? '-' : cell(service.queue?.consumers ?? null),
    cell(service.deadLetters),
    cell(service.outboxUnsent)
  ])
  print(formatTable(['service', '/ready', 'queue', 'consumers', 'dead letters', 'outbox unsent'], rows))
  print(status.healthy ? '\nhealthy' : `\nUNHEALTHY:\n${status.problems.map((problem) => `  - ${problem}`).join('\n')}`)
}

export const registerStatusCommand = (program: Command) =>
  addBrokerOptions(
    addDatabaseOptions(
      addServiceUrlOptions(
        program
          .command('status')
          .description(
            "One table of the mesh: each service's /ready, its queue's depth and consumers, its dead letters and its outbox backlog; exit 1 if a service is not ready, a queue has no consumer, or the broker or a database does not answer"
          )
          .option('--json', 'the whole status as one JSON object')
          .option('--watch [seconds]', 'redraw every few seconds (default 2) until interrupted', positiveInteger)
          .addHelpText('after', examples('marketmesh status', 'marketmesh status --watch 5', 'marketmesh status --json | jq .problems'))
      )
    )
  ).action(async (options: StatusOptions) => {
    for (;;) {
      const status = await readStatus(options)
      if (options.watch && process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[H')
      if (options.json) printJson(status)
      else printStatus(status)
      if (!options.watch) {
        if (!status.healthy) process.exitCode = 1
        return
      }
      if (!options.json) print(`\n${new Date().toISOString()}, every ${options.watch === true ? 2 : options.watch} s; Ctrl-C to stop`)
      await sleep((options.watch === true ? 2 : options.watch) * 1000)
    }
  })
