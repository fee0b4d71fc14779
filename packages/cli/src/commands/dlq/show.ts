import type { Command } from 'commander'
import { consumerQueueNames } from '@marketmesh/shared/ops'
import { addBrokerOptions, withConnection, type BrokerOptions } from '../../broker'
import { describeDeadLetter, formatDeadLetter, type DeadLetter } from '../../dead-letter'
import { scanQueue } from '../../dead-letter-scan'
import { addFilterOptions, describeFilter, filterFrom, hasFilter, matches, positiveInteger } from '../../letter-filter'
import { examples, print, printJson } from '../../output'
import { consumerArgument } from './consumer-argument'

interface ShowOptions extends BrokerOptions {
  type?: string
  error?: string
  since?: number
  id?: string
  limit: number
  json?: boolean
}

export const registerShowCommand = (dlq: Command) =>
  addBrokerOptions(
    addFilterOptions(
      dlq
        .command('show')
        .description(
          'Print the dead letters that match, oldest first, without removing any and without moving them in the queue (the dead-letter queues have no delivery limit)'
        )
        .addArgument(consumerArgument())
    )
      .option('--limit <n>', 'print at most this many', positiveInteger, 10)
      .option('--json', 'one letter a line, as JSON, bodies whole')
      .addHelpText(
        'after',
        examples(
          'marketmesh dlq show catalog-service',
          'marketmesh dlq show order-service --type stock.reserved --error "payment provider" --since 2h',
          'marketmesh dlq show notify-service --id 0b6d7c2e-5d0e-4c8a-9d43-0c5b1b8f9a11 --json'
        )
      )
  ).action(async (consumer: string, options: ShowOptions) => {
    const queue = consumerQueueNames(options.prefix, consumer).deadLetterQueue
    const filter = filterFrom(options)
    const letters: DeadLetter[] = []
    const result = await withConnection(options.amqpUrl, (connection) =>
      scanQueue(connection, queue, {
        visit: (message) => {
          const letter = describeDeadLetter(message)
          if (matches(filter, letter)) letters.push(letter)
          return letters.length >= options.limit ? 'stop' : 'next'
        }
      })
    )
    if (options.json) {
      letters.forEach(printJson)
      return
    }
    const total = result?.total ?? 0
    const shown = hasFilter(filter)
      ? `, ${letters.length} shown matching ${describeFilter(filter)}`
      : letters.length < total
        ? `, ${letters.length} shown`
        : ''
    print(`${queue}: ${total} dead letter${total === 1 ? '' : 's'}${result ? '' : ' (not declared)'}${shown}`)
    for (const letter of letters) print(`\n${formatDeadLetter(letter)}`)
  })
