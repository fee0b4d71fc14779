import type { Registry } from 'prom-client'
import type { Knex } from '../database'
import type { Logger } from '../logger'
import type { BaseSettings } from '../settings'
import { Broker } from './broker'
import type { EventData, EventEnvelope, EventType } from './catalog'
import { EventConsumer, type EventHandler } from './consumer'
import { createEventMetrics } from './metrics'
import { OutboxRelay, writeToOutbox, type OutboxRelayOptions } from './outbox'

export interface EventBusOptions {
  /** The service's name: the events' `source` and the name of its queue. */
  service: string
  settings: Pick<BaseSettings, 'amqp' | 'outbox' | 'postgresql'>
  db: Knex
  logger: Logger
  registry: Registry
  afterPublish?: OutboxRelayOptions['afterPublish']
}

/**
 * A service's whole view of the event backbone:
 *   bus.on('order.created', async (event, { trx, emit }) => { ... })
 *   await bus.emit(trx, 'order.paid', data)
 *   await bus.emitAll(trx, 'product.updated', variants.map(productEvent))
 */
export class EventBus {
  readonly broker: Broker
  readonly relay: OutboxRelay
  private readonly consumer: EventConsumer

  constructor(private readonly options: EventBusOptions) {
    const { service, settings, db, logger, registry } = options
    const metrics = createEventMetrics(registry)
    this.broker = new Broker({
      url: settings.amqp.url,
      prefix: settings.amqp.prefix,
      publishTimeoutMs: settings.amqp.publishTimeoutMs,
      logger,
      connectionName: service
    })
    this.relay = new OutboxRelay({
      db,
      broker: this.broker,
      ...settings.outbox,
      logger,
      metrics,
      registry,
      afterPublish: options.afterPublish
    })
    this.consumer = new EventConsumer({
      consumer: service,
      prefix: settings.amqp.prefix,
      db,
      broker: this.broker,
      prefetch: settings.amqp.prefetch,
      concurrency: settings.amqp.concurrency,
      batchSize: settings.amqp.batchSize,
      retryDelaysMs: settings.amqp.retryDelaysMs,
      dedupeRetentionHours: settings.amqp.dedupeRetentionHours,
      logger,
      metrics,
      emit: (trx, type, data) => this.emit(trx, type, data as never)
    })
  }

  on<T extends EventType>(type: T, handler: EventHandler<T>) {
    this.consumer.on(type, handler)
    return this
  }

  /** Writes the event to the outbox in `trx`; the relay publishes it as soon as `trx` commits. */
  async emit<T extends EventType>(trx: Knex.Transaction, type: T, data: EventData<T>): Promise<EventEnvelope<T>> {
    const [envelope] = await this.emitAll(trx, type, [data])
    return envelope
  }

  /** Like `emit` for several events of one type, written with one statement. */
  async emitAll<T extends EventType>(trx: Knex.Transaction, type: T, dataList: EventData<T>[]): Promise<EventEnvelope<T>[]> {
    const envelopes = await writeToOutbox(trx, this.options.service, type, dataList)
    trx.executionPromise.then(() => this.relay.wake(), () => undefined)
    return envelopes
  }

  isConnected() {
    return this.broker.isConnected()
  }

  /** Resolves once this service's queue is declared, bound and consumed; events published before may pass it by. */
  whenConsuming() {
    return this.consumer.whenConsuming()
  }

  /** Deletes sent outbox rows and dedupe rows past their retention (both also run hourly on their own). */
  async purgeExpired() {
    await this.relay.purge()
    await this.consumer.forgetOldEvents()
  }

  async start() {
    this.broker.start()
    await this.relay.start()
    if (this.consumer.hasHandlers) await this.consumer.start()
  }

  async stop() {
    await this.consumer.stop()
    await this.relay.stop()
    await this.broker.close()
  }
}
