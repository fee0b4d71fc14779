import amqplib from 'amqplib'
import { describe, expect, it } from 'vitest'
import { consumerQueueNames, declareConsumerQueues, declareExchanges, QUEUE_DELIVERY_LIMIT, QUEUE_TYPES } from '../src'
import { AMQP, cleanUp, uniqueName } from '@marketmesh/test-support'
import { afterThisTest, CONSUMER } from './helpers'

const RETRY_DELAY_MS = 50

/** A connection whose channels a test may see closed by the broker (a refused declaration). */
const brokerConnection = async () => {
  const connection = await amqplib.connect(AMQP)
  connection.on('error', () => undefined)
  afterThisTest(() => connection.close())
  return connection
}

/** The broker's answer to declaring `queue` again with `args`: 'ok', or its refusal. */
const redeclared = async (connection: amqplib.ChannelModel, queue: string, args: Record<string, unknown>) => {
  const channel = await connection.createChannel()
  channel.on('error', () => undefined)
  try {
    await channel.assertQueue(queue, { durable: true, arguments: args })
    await channel.close()
    return 'ok'
  } catch (error) {
    return (error as Error).message
  }
}

describe.each(QUEUE_TYPES)('a consumer queue of type %s', (queueType) => {
  it('is declared with that type, its retry and dead-letter queues as quorum queues, and a retried event comes back to it', async () => {
    const prefix = uniqueName('topology').replace(/_/g, '.')
    afterThisTest(() => cleanUp({ prefix, retryDelaysMs: [RETRY_DELAY_MS] }))
    const connection = await brokerConnection()
    const channel = await connection.createConfirmChannel()
    await declareExchanges(channel, prefix)
    // What each queue was declared with, to declare it again with only its type changed.
    const declared = new Map<string, Record<string, unknown>>()
    const recording = new Proxy(channel, {
      get: (target, key) =>
        key === 'assertQueue'
          ? (queue: string, options: amqplib.Options.AssertQueue) => (declared.set(queue, options.arguments), target.assertQueue(queue, options))
          : (Reflect.get(target, key) as unknown)
    })
    await declareConsumerQueues(recording, { prefix, retryDelaysMs: [RETRY_DELAY_MS], queueType }, CONSUMER, ['order.created'])
    // Declaring it again: the same arguments are taken (every service does so at each start).
    await declareConsumerQueues(channel, { prefix, retryDelaysMs: [RETRY_DELAY_MS], queueType }, CONSUMER, ['order.created'])

    // The broker refuses a declaration of another type than the queue has, naming x-queue-type.
    const names = consumerQueueNames(prefix, CONSUMER)
    const other = QUEUE_TYPES.find((type) => type !== queueType)
    expect(await redeclared(connection, names.queue, { ...declared.get(names.queue), 'x-queue-type': other })).toMatch(
      new RegExp(`inequivalent arg 'x-queue-type'.*current is '${queueType}'`)
    )
    for (const quorum of [names.deadLetterQueue, names.retryQueue(RETRY_DELAY_MS)]) {
      expect(await redeclared(connection, quorum, { ...declared.get(quorum), 'x-queue-type': 'classic' })).toContain(`current is 'quorum'`)
    }
    // A classic queue takes no delivery limit: the crash limit in the consumer's database is its only one.
    if (queueType === 'classic') {
      expect(await redeclared(connection, `${names.queue}.limit`, { 'x-queue-type': 'classic', 'x-delivery-limit': QUEUE_DELIVERY_LIMIT })).toMatch(
        /invalid arg 'x-delivery-limit'/
      )
    }

    // A failed delivery goes to the retry queue; after its delay the broker dead-letters it back into the consumer's queue.
    await new Promise<void>((resolve, reject) =>
      channel.sendToQueue(names.retryQueue(RETRY_DELAY_MS), Buffer.from('{}'), { persistent: true, messageId: 'retried' }, (error) =>
        error ? reject(error) : resolve()
      )
    )
    let back: amqplib.GetMessage | false = false
    for (let i = 0; i < 100 && !back; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      back = await channel.get(names.queue, { noAck: true })
    }
    expect(back && back.properties.messageId).toBe('retried')
  })
})
