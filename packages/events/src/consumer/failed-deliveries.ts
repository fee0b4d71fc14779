import type { Logger } from 'pino'
import type { Broker } from '../broker'
import type { EventMetrics } from '../metrics'
import { ATTEMPT_HEADER, DEAD_LETTER_HEADERS, type consumerQueueNames } from '../topology'
import { attemptOf, eventTypeOf, originalRoutingKey, type Delivery } from './deliveries'

export interface FailedDeliveriesOptions {
  consumer: string
  broker: Broker
  names: ReturnType<typeof consumerQueueNames>
  retryDelaysMs: number[]
  logger: Logger
  metrics: EventMetrics
}

/**
 * Where a delivery goes when its handler failed, or it is no event this consumer can handle.
 *
 * Contract: a failed attempt n goes to the retry queue of `retryDelaysMs[n - 1]` with attempt
 * n + 1 and the error in its headers; past the last delay, or invalid, the untouched body goes to
 * the dead-letter exchange with why, when, after how many attempts and its original routing key.
 * The delivery is acked only once forwarded; when forwarding fails it is requeued instead, and
 * the broker delivers it again. Never throws.
 */
export class FailedDeliveries {
  constructor(private readonly options: FailedDeliveriesOptions) {}

  async retryOrDeadLetter(delivery: Delivery, error: Error) {
    const attempt = attemptOf(delivery)
    const delay = this.options.retryDelaysMs[attempt - 1]
    if (delay === undefined) return this.deadLetter(delivery, error)
    const { message } = delivery
    try {
      await this.options.broker.publish('', this.options.names.retryQueue(delay), message.content, {
        ...message.properties,
        headers: { ...message.properties.headers, [ATTEMPT_HEADER]: attempt + 1, [DEAD_LETTER_HEADERS.error]: error.message }
      })
      this.options.metrics.retried.inc({ type: eventTypeOf(message), consumer: this.options.consumer })
      delivery.acks.ack(message)
    } catch (publishError) {
      this.requeue(delivery, publishError as Error)
    }
  }

  async deadLetter(delivery: Delivery, error: Error) {
    const { broker, consumer, metrics, logger } = this.options
    const { message } = delivery
    const type = eventTypeOf(message)
    try {
      await broker.publish(broker.exchanges.deadLetters, consumer, message.content, {
        ...message.properties,
        headers: {
          ...message.properties.headers,
          [DEAD_LETTER_HEADERS.error]: error.message,
          [DEAD_LETTER_HEADERS.attempts]: attemptOf(delivery),
          [DEAD_LETTER_HEADERS.consumer]: consumer,
          [DEAD_LETTER_HEADERS.failedAt]: new Date().toISOString(),
          [DEAD_LETTER_HEADERS.routingKey]: originalRoutingKey(message)
        }
      })
      metrics.deadLettered.inc({ type, consumer })
      logger.error({ eventType: type, messageId: message.properties.messageId, err: error.message }, 'event dead-lettered')
      delivery.acks.ack(message)
    } catch (publishError) {
      this.requeue(delivery, publishError as Error)
    }
  }

  private requeue({ acks, message }: Delivery, error: Error) {
    this.options.logger.warn({ err: error.message }, 'could not forward a failed event; leaving it to the broker')
    acks.requeue(message)
  }
}
