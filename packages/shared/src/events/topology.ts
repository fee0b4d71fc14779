/**
 * Every exchange and queue name comes from here, so services, tests and the CLI agree.
 *
 *   <prefix>.events              topic exchange, routing key = event type
 *   <prefix>.dlx                 direct exchange for dead letters, routing key = consumer
 *   <prefix>.<consumer>          the consumer's quorum queue, bound to the types it handles
 *   <prefix>.<consumer>.retry.<ms>  delay queue: after <ms> a message goes back to the consumer's queue
 *   <prefix>.<consumer>.dlq      the consumer's dead letters
 */

/** Every service that consumes events; the CLI walks their dead-letter queues. */
export const CONSUMERS = ['user-service', 'catalog-service', 'order-service', 'notify-service'] as const

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
