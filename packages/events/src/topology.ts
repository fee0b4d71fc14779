import type { ConfirmChannel } from 'amqplib'
import type { EventType } from './event-types'

/**
 * Every exchange and queue name comes from here, so services, tests and the CLI agree.
 *
 *   <prefix>.events              topic exchange, routing key = event type
 *   <prefix>.dlx                 direct exchange for dead letters, routing key = consumer
 *   <prefix>.<consumer>          the consumer's queue (quorum, or classic: `queueType`), bound to the types it handles
 *   <prefix>.<consumer>.retry.<ms>  delay queue: after <ms> a message goes back to the consumer's queue
 *   <prefix>.<consumer>.dlq      the consumer's dead letters
 */

/**
 * Who consumes which event type. Every service declares every consumer's queue and bindings at
 * start (and `npm run migrate` does too), so an event published before its consumer first ran
 * waits in that consumer's queue. A service's handlers must match its line here.
 */
export const EVENT_CONSUMERS = {
  'user-service': [],
  'catalog-service': ['order.created', 'order.cancelled', 'order.rejected', 'order.refunded', 'order.delivered', 'user.registered', 'user.updated'],
  'order-service': ['stock.reserved', 'stock.rejected', 'product.created', 'product.updated', 'product.deleted', 'user.registered', 'user.updated'],
  'notify-service': [
    'user.registered',
    'user.updated',
    'user.password_reset_requested',
    'user.email_verification_requested',
    'device.registered',
    'device.revoked',
    'order.created',
    'order.paid',
    'order.rejected',
    'order.cancelled',
    'order.shipped',
    'order.delivered',
    'order.completed',
    'order.refunded',
    'product.created',
    'product.updated',
    'product.deleted',
    'payout.paid',
    'payout.failed',
    'payout.reversed'
  ]
} as const satisfies Record<string, readonly EventType[]>

/**
 * Who publishes which event type, through its outbox. Not needed at run time: docs/asyncapi.yaml is
 * written from it with EVENT_CONSUMERS (`npm run docs:asyncapi`), and test/asyncapi.test.ts checks
 * it against the event types each service's code emits.
 */
export const EVENT_PUBLISHERS = {
  'user-service': [
    'user.registered',
    'user.updated',
    'user.password_reset_requested',
    'user.email_verification_requested',
    'device.registered',
    'device.revoked'
  ],
  'catalog-service': [
    'product.created',
    'product.updated',
    'product.deleted',
    'stock.reserved',
    'stock.rejected',
    'stock.released',
    'review.created'
  ],
  'order-service': [
    'order.created',
    'order.paid',
    'order.rejected',
    'order.cancelled',
    'order.shipped',
    'order.delivered',
    'order.completed',
    'order.refunded',
    'payout.paid',
    'payout.failed',
    'payout.reversed'
  ],
  'notify-service': ['conversation.message.created', 'conversation.message.hidden']
} as const satisfies Record<keyof typeof EVENT_CONSUMERS, readonly EventType[]>

export type ConsumerTable = Record<string, readonly EventType[]>

/** Every service that consumes events; the CLI walks their dead-letter queues. */
export const CONSUMERS = Object.keys(EVENT_CONSUMERS) as Array<keyof typeof EVENT_CONSUMERS>

export const exchangeNames = (prefix: string) => ({
  events: `${prefix}.events`,
  deadLetters: `${prefix}.dlx`
})

export const consumerQueueNames = (prefix: string, consumer: string) => ({
  queue: `${prefix}.${consumer}`,
  deadLetterQueue: `${prefix}.${consumer}.dlq`,
  retryQueue: (delayMs: number) => `${prefix}.${consumer}.retry.${delayMs}ms`
})

/** Headers a dead letter carries besides the original ones. */
export const DEAD_LETTER_HEADERS = {
  error: 'x-error',
  attempts: 'x-attempts',
  consumer: 'x-consumer',
  failedAt: 'x-failed-at',
  routingKey: 'x-original-routing-key'
} as const

export const REQUEST_ID_HEADER = 'x-request-id'
export const ATTEMPT_HEADER = 'x-attempt'
/** How often an operator sent the message back from its dead-letter queue (`marketmesh dlq redrive`). */
export const REDRIVE_HEADER = 'x-redrives'

/**
 * The broker's own last resort against a message that keeps a consumer from settling it (the
 * consumer dead-letters such a message itself, with its error, after `crashLimit` interrupted
 * handlings). Deliveries returned by a lost connection count too, so it is kept far above that.
 */
export const QUEUE_DELIVERY_LIMIT = 100

/**
 * The type of the consumers' own queues, which carry every event. `quorum` (the default) is
 * replicated and needed wherever the broker has more than one node. `classic` (version 2) keeps
 * one copy on one node at a lower cost per delivery, and takes no `x-delivery-limit`: the crash
 * limit (`amqp.crashLimit`, counted in the consumer's database) is then the only one. Retry and
 * dead-letter queues stay quorum queues either way: they carry only failures, and a retry queue
 * dead-letters into the consumer's queue at least once only as a quorum queue.
 */
export const QUEUE_TYPES = ['quorum', 'classic'] as const
export type QueueType = (typeof QUEUE_TYPES)[number]

export interface TopologyOptions {
  prefix: string
  /** The delays of the consumers' retry queues. */
  retryDelaysMs: number[]
  /** The consumers' own queues' type; quorum unless given. */
  queueType?: QueueType
}

/** Idempotent: every process that needs an exchange declares it, with the same arguments. */
export const declareExchanges = async (channel: ConfirmChannel, prefix: string) => {
  const { events, deadLetters } = exchangeNames(prefix)
  await channel.assertExchange(events, 'topic', { durable: true })
  await channel.assertExchange(deadLetters, 'direct', { durable: true })
}

/**
 * RabbitMQ 4 gives quorum queues a delivery limit of 20 unless told otherwise (-1 = none);
 * RabbitMQ 3 has none by default and reads -1 as "dead-letter at the first return".
 */
const brokerMajorVersion = (channel: ConfirmChannel) => {
  const version = (channel as unknown as { connection?: { serverProperties?: { version?: string } } }).connection?.serverProperties?.version
  return Number(String(version ?? '3').split('.')[0])
}

const noDeliveryLimit = (channel: ConfirmChannel): Record<string, number> => (brokerMajorVersion(channel) >= 4 ? { 'x-delivery-limit': -1 } : {})

// Dead-lettering between quorum queues is confirmed: a message leaves one only once the next has it.
const atLeastOnceDeadLettering = { 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' }

/**
 * One consumer's queue (bound to `types`), its delay queues and its dead-letter queue. A dead
 * letter has no delivery limit and no overflow: it stays until an operator redrives or purges it,
 * however often it is read.
 */
export const declareConsumerQueues = async (channel: ConfirmChannel, options: TopologyOptions, consumer: string, types: readonly string[]) => {
  const { prefix, retryDelaysMs } = options
  const { queue, deadLetterQueue, retryQueue } = consumerQueueNames(prefix, consumer)
  const { events, deadLetters } = exchangeNames(prefix)
  await channel.assertQueue(deadLetterQueue, { durable: true, arguments: { 'x-queue-type': 'quorum', ...noDeliveryLimit(channel) } })
  await channel.bindQueue(deadLetterQueue, deadLetters, consumer)
  await channel.assertQueue(queue, {
    durable: true,
    arguments:
      options.queueType === 'classic'
        ? // Nothing dead-letters from it: the consumer forwards its failures itself, and requeues the rest.
          { 'x-queue-type': 'classic', 'x-queue-version': 2 }
        : {
            'x-queue-type': 'quorum',
            'x-delivery-limit': QUEUE_DELIVERY_LIMIT,
            'x-dead-letter-exchange': deadLetters,
            'x-dead-letter-routing-key': consumer,
            ...atLeastOnceDeadLettering
          }
  })
  for (const type of types) await channel.bindQueue(queue, events, type)
  for (const delay of new Set(retryDelaysMs)) {
    await channel.assertQueue(retryQueue(delay), {
      durable: true,
      arguments: {
        'x-queue-type': 'quorum',
        ...noDeliveryLimit(channel),
        'x-message-ttl': delay,
        'x-dead-letter-exchange': '',
        'x-dead-letter-routing-key': queue,
        ...atLeastOnceDeadLettering
      }
    })
  }
}

/** The exchanges and every consumer's queues of the table: what any service declares at start. */
export const declareTopology = async (channel: ConfirmChannel, options: TopologyOptions, consumers: ConsumerTable) => {
  await declareExchanges(channel, options.prefix)
  for (const [consumer, types] of Object.entries(consumers)) {
    if (types.length > 0) await declareConsumerQueues(channel, options, consumer, types)
  }
}
