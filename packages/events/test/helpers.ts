import amqplib from 'amqplib'
import { afterEach } from 'vitest'
import { deepMerge, type Knex } from '@marketmesh/shared'
import type { EventBus, QueueType } from '@marketmesh/events'
import { EVENT_CONSUMERS, exchangeNames } from '../src'
import { AMQP, cleanUp, createTestBus, POSTGRES, uniqueName } from '@marketmesh/test-support'
import { effectsMigrations, orderCreated } from './fixtures/effects.cjs'

export const CONSUMER = 'test-consumer'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** Runs `cleanup` after the current test, in reverse order of registration. */
export const afterThisTest = (cleanup: () => Promise<void> | void) => void cleanups.push(async () => cleanup())

/** A publishing service and a consuming service, each with its own database, on a private prefix. */
export const twoServices = async (
  options: {
    publisherAmqpUrl?: string
    afterPublish?: () => Promise<void> | void
    /** The consumer's database URL, given the database name (e.g. through a proxy). */
    consumerConnection?: (database: string) => string
    consumerSettings?: Record<string, unknown>
    consumerService?: string
    /** The consumers' queues' type, for both services (they must agree); quorum unless given. */
    queueType?: QueueType
  } = {}
) => {
  const queueTypeSettings = { amqp: { queueType: options.queueType ?? 'quorum' } }
  const prefix = uniqueName('events').replace(/_/g, '.')
  const names = [uniqueName('publisher'), uniqueName('consumer')]
  const databases = names.map((name) => `${POSTGRES}/${name}`)
  const publisher = await createTestBus({
    service: 'order-service',
    connection: databases[0],
    prefix,
    amqpUrl: options.publisherAmqpUrl,
    afterPublish: options.afterPublish,
    settings: queueTypeSettings,
    // The test consumer's queue exists from the publisher's start, as a real consumer's would.
    consumers: { ...EVENT_CONSUMERS, [CONSUMER]: ['order.created'] }
  })
  const consumer = await createTestBus({
    service: options.consumerService ?? CONSUMER,
    connection: options.consumerConnection?.(names[1]) ?? databases[1],
    prefix,
    migrations: effectsMigrations,
    settings: deepMerge(queueTypeSettings, options.consumerSettings)
  })
  afterThisTest(async () => {
    await publisher.bus.stop()
    await consumer.bus.stop()
    await publisher.db.destroy()
    await consumer.db.destroy()
    await cleanUp({ prefix, databases })
  })
  return { prefix, publisher, consumer, databases }
}

export const emitInTransaction = (bus: EventBus, db: Knex, count = 1) =>
  db.transaction(async (trx) => {
    const events = []
    for (let i = 0; i < count; i++) events.push(await bus.emit(trx, 'order.created', orderCreated()))
    return events
  })

export const effectsOf = (db: Knex) => db('effects').select('order_id', 'applications')
export const unsent = async (db: Knex) => Number((await db('outbox').whereNull('sent_at').count({ n: '*' }))[0].n)

/** A plain queue bound to every event of the prefix: the message ids in the order the broker received them, and their headers. */
export const watchEverything = async (prefix: string) => {
  const connection = await amqplib.connect(AMQP)
  afterThisTest(() => connection.close())
  const channel = await connection.createChannel()
  await channel.assertExchange(exchangeNames(prefix).events, 'topic', { durable: true })
  const { queue } = await channel.assertQueue('', { exclusive: true })
  await channel.bindQueue(queue, exchangeNames(prefix).events, '#')
  const received: string[] = []
  const headers: Array<Record<string, unknown>> = []
  const messages: amqplib.ConsumeMessage[] = []
  await channel.consume(
    queue,
    (message) => {
      if (!message) return
      received.push(message.properties.messageId)
      headers.push(message.properties.headers ?? {})
      messages.push(message)
    },
    { noAck: true }
  )
  return { received, headers, messages }
}
