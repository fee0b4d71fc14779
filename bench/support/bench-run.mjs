// What a bench needs around a run of one service: a unique database and broker prefix, and their removal.
import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const amqplib = require('amqplib')
const { consumerQueueNames, CONSUMERS, exchangeNames } = require('@marketmesh/events')
const { baseDefaults, dropDatabase } = require('@marketmesh/shared')

export const benchRun = (label) => {
  const name = `mmbench_${label}_${Date.now().toString(36)}${randomBytes(2).toString('hex')}`
  const postgres = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432'
  const prefix = name.replace(/_/g, '.')
  const connection = `${postgres}/${name}`
  return {
    connection,
    prefix,
    /** Drops the database and the queues (a service declares every consumer's) and exchanges the run declared. */
    async remove() {
      // A broker that does not answer must not hold the run's end forever.
      const broker = await amqplib.connect(process.env.AMQP_URL ?? baseDefaults.amqp.url, { timeout: 10_000 }).catch((error) => {
        console.error(`could not remove the broker objects of ${prefix}: ${error.message}`)
      })
      if (broker) {
        const channel = await broker.createChannel()
        for (const consumer of CONSUMERS) {
          const names = consumerQueueNames(prefix, consumer)
          for (const queue of [names.queue, names.deadLetterQueue, ...baseDefaults.amqp.retryDelaysMs.map(names.retryQueue)]) {
            await channel.deleteQueue(queue)
          }
        }
        await channel.deleteExchange(exchangeNames(prefix).events)
        await channel.deleteExchange(exchangeNames(prefix).deadLetters)
        await broker.close()
      }
      await dropDatabase(connection)
    }
  }
}
