import type { Registry } from 'prom-client'
import type { Knex } from 'knex'
import { afterCommit } from './knex-internals'
import type { Logger } from 'pino'
import { Broker } from './broker'
import type { EventData, EventEnvelope, EventType } from './event-types'
import { EventConsumer, type EventHandler, type HandlerOptions } from './consumer'
import { SideEffects } from './effects'
import { createEventMetrics } from './metrics'
import { OutboxRelay, outboxInsert, writeToOutbox, type OutboxRelayOptions } from './outbox'
import type { EventBusSettings } from './settings'
import { EVENT_CONSUMERS, type ConsumerTable } from './topology'

/** Hears the events a transaction writes to the outbox (`EventBus.onEmit`); it must not throw. */
export type EmitListener = (trx: Knex.Transaction, type: EventType, dataList: readonly unknown[]) => void

export interface EventBusOptions {
  /** The service's name: the events' `source` and the name of its queue. */
  service: string
  settings: EventBusSettings
  db: Knex
  logger: Logger
  registry: Registry
  /** Who consumes what (tests add consumers of their own); EVENT_CONSUMERS by default. */
  consumers?: ConsumerTable
  afterPublish?: OutboxRelayOptions['afterPublish']
}

/**
 * A service's whole view of the event backbone:
 *   bus.on('order.created', async (event, { trx, emit, schedule }) => { ... })
 *   await bus.emit(trx, 'order.paid', data)
 *   await bus.emitAll(trx, 'product.updated', variants.map(productEvent))
 *   bus.effects.perform('mail', async ({ id, payload }) => { ... })   // carried out after commit
 */
export class EventBus {
  readonly broker: Broker
  readonly relay: OutboxRelay
  readonly effects: SideEffects
  private readonly consumer: EventConsumer

  constructor(private readonly options: EventBusOptions) {
    const { service, settings, db, logger, registry } = options
    const consumers = options.consumers ?? EVENT_CONSUMERS
    const metrics = createEventMetrics(registry)
    this.broker = new Broker({
      url: settings.amqp.url,
      prefix: settings.amqp.prefix,
      publishTimeoutMs: settings.amqp.publishTimeoutMs,
      logger,
      connectionName: service,
      consumers,
      retryDelaysMs: settings.amqp.retryDelaysMs,
      queueType: settings.amqp.queueType
    })
    this.relay = new OutboxRelay({
      db,
      connection: settings.postgresql.connection,
      broker: this.broker,
      ...settings.outbox,
      logger,
      metrics,
      registry,
      afterPublish: options.afterPublish
    })
    this.effects = new SideEffects({ db, logger, metrics, registry, ...settings.sideEffects, retentionHours: settings.amqp.dedupeRetentionHours })
    this.consumer = new EventConsumer({
      consumer: service,
      prefix: settings.amqp.prefix,
      db,
      broker: this.broker,
      consumers,
      prefetch: settings.amqp.prefetch,
      concurrency: settings.amqp.concurrency,
      batchSize: settings.amqp.batchSize,
      retryDelaysMs: settings.amqp.retryDelaysMs,
      queueType: settings.amqp.queueType,
      crashLimit: settings.amqp.crashLimit,
      dedupeRetentionHours: settings.amqp.dedupeRetentionHours,
      logger,
      metrics,
      effects: this.effects,
      emit: (trx, type, data) => this.emit(trx, type, data as never),
      emitAlongside: async (trx, type, data) => {
        const { envelopes, write } = await this.emitAlongside(trx, type, [data as never])
        return { envelope: envelopes[0], write }
      }
    })
  }

  private readonly emitListeners: EmitListener[] = []

  /** Tells `listener` of every event written to the outbox, in the transaction that writes it (e.g. to drop cache entries after its commit). */
  onEmit(listener: EmitListener) {
    this.emitListeners.push(listener)
    return this
  }

  on<T extends EventType>(type: T, handler: EventHandler<T>, options?: HandlerOptions<T>) {
    this.consumer.on(type, handler, options)
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
    await this.emitted(trx, type, dataList)
    return envelopes
  }

  /**
   * Like `emitAll`, for a statement of the caller's that writes the events alongside its own work,
   * one round trip less on a hot path: `write` is the INSERT to put in it as a data-modifying CTE
   * (`trx.with('emitted', write)`; wrapped, since awaiting a knex query runs it). They are published
   * once `trx` commits, if that statement ran in it.
   */
  async emitAlongside<T extends EventType>(
    trx: Knex.Transaction,
    type: T,
    dataList: EventData<T>[]
  ): Promise<{ envelopes: EventEnvelope<T>[]; write: Knex.Raw }> {
    const { envelopes, sql, bindings } = outboxInsert(this.options.service, type, dataList)
    await this.emitted(trx, type, dataList)
    return { envelopes, write: trx.raw(sql, bindings) }
  }

  /** What follows an emit: the listeners hear it, and the relay (this instance's, or the leader) publishes it once `trx` commits. */
  private async emitted<T extends EventType>(trx: Knex.Transaction, type: T, dataList: EventData<T>[]) {
    for (const listener of this.emitListeners) listener(trx, type, dataList)
    if (dataList.length > 0) await this.relay.notifyLeader(trx)
    afterCommit(trx, () => this.relay.wake())
  }

  isConnected() {
    return this.broker.isConnected()
  }

  /** Resolves once this service's queue is declared, bound and consumed; events published before may pass it by. */
  whenConsuming() {
    return this.consumer.whenConsuming()
  }

  /** Deletes sent outbox rows, dedupe rows, tombstones and done side effects past their retention (also run on timers). */
  async purgeExpired() {
    await this.relay.purge()
    await this.consumer.forgetOldEvents()
    await this.effects.purge()
  }

  /** Declares every consumer's queue and bindings, then disconnects (`npm run migrate`). */
  async declareTopology(timeoutMs: number) {
    this.broker.start()
    try {
      await this.broker.whenReady(timeoutMs)
    } finally {
      await this.broker.close()
    }
  }

  async start() {
    this.broker.start()
    await this.relay.start()
    this.effects.start()
    if (this.consumer.hasHandlers) await this.consumer.start()
  }

  /** Consumption first (cancelled, batches finished), then the side effects in progress, the relay, the broker. */
  async stop() {
    await this.consumer.stop()
    await this.effects.stop()
    await this.relay.stop()
    await this.broker.close()
  }
}
