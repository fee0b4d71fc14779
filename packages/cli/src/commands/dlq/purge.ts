import type { Command } from 'commander'
import { consumerQueueNames } from '@marketmesh/shared/ops'
import { addBrokerOptions, withConnection, type BrokerOptions } from '../../broker'
import { letterFacts } from '../../dead-letter'
import { scanQueue } from '../../dead-letter-scan'
import { addFilterOptions, describeFilter, filterFrom, matches, positiveInteger } from '../../letter-filter'
import { examples, print } from '../../output'
import { consumerArgument } from './consumer-argument'

interface PurgeOptions extends BrokerOptions {
  type?: string
  error?: string
  since?: number
  id?: string
  limit?: number
  yes?: boolean
}

export const registerPurgeCommand = (dlq: Command) =>
  addBrokerOptions(
    addFilterOptions(
      dlq
        .command('purge')
        .description('Delete the dead letters that match, for good (all of them without a filter); the others stay, in their order')
        .addArgument(consumerArgument())
    )
      .option('--limit <n>', 'delete at most this many', positiveInteger)
      .option('--yes', 'confirm the deletion')
      .addHelpText(
        'after',
        examples(
          'marketmesh dlq purge catalog-service --type user.updated --yes',
          'marketmesh dlq purge notify-service --error "body is not JSON" --yes',
          'marketmesh dlq purge order-service --yes'
        )
      )
  ).action(async (consumer: string, options: PurgeOptions) => {
    const queue = consumerQueueNames(options.prefix, consumer).deadLetterQueue
    const filter = filterFrom(options)
    if (!options.yes) throw new Error(`purge deletes dead letters in ${queue} (${describeFilter(filter)}) for good; run it again with --yes`)
    let purged = 0
    const result = await withConnection(options.amqpUrl, (connection) =>
      scanQueue(connection, queue, {
        visit: (message, take) => {
          if (options.limit !== undefined && purged >= options.limit) return 'stop'
          if (matches(filter, letterFacts(message))) {
            take(message)
            purged += 1
          }
          return 'next'
        }
      })
    )
    const left = (result?.total ?? 0) - purged
    print(`purged ${purged} dead letter${purged === 1 ? '' : 's'} (${describeFilter(filter)}) from ${queue}; ${left} left`)
  })
