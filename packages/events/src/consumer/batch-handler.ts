import type { Knex } from 'knex'
import type { Logger } from 'pino'
import { takingAggregateLocks } from '../arrival-order'
import { withEventCause } from '../cause'
import type { SideEffects } from '../effects'
import type { EventEnvelope, EventType } from '../event-types'
import { isInfrastructureFailure, isLockConflict } from '../infrastructure'
import { runInTransaction } from '../knex-internals'
import type { EventMetrics } from '../metrics'
import { eventAttributes, inSpan, SpanKind, TRACEPARENT } from '../tracing'
import type { DatabasePause } from './database-pause'
import { attemptOf, type Accepted, type Delivery, type Outcome } from './deliveries'
import type { FailedDeliveries } from './failed-deliveries'
import type { HandlerRegistry } from './handler-registry'

export interface BatchHandlerOptions {
  consumer: string
  db: Knex
  /** A redelivered event whose handling was started this many times without being settled is dead-lettered. */
  crashLimit: number
  logger: Logger
  metrics: EventMetrics
  effects: SideEffects
  emit: (trx: Knex.Transaction, type: EventType, data: unknown) => Promise<EventEnvelope>
  emitAlongside: (trx: Knex.Transaction, type: EventType, data: unknown) => Promise<{ envelope: EventEnvelope; write: Knex.Raw }>
  handlers: HandlerRegistry
  failures: FailedDeliveries
  pause: DatabasePause
  isStopping: () => boolean
}

/**
 * A batch's dedupe rows, sorted (two batches inserting some of the same ids take their index locks
 * in one order), and, for the events new to this consumer, the locks their handlers declared:
 * one statement. Returns the new events' ids.
 */
const RECORD_AND_LOCK = `
  WITH fresh AS (
    INSERT INTO processed_events (consumer, event_id) SELECT ?, event_id FROM unnest(?::uuid[]) AS event_id
    ON CONFLICT (consumer, event_id) DO NOTHING
    RETURNING event_id)
  SELECT event_id,
         ${takingAggregateLocks('unnest(?::uuid[], ?::text[]) AS declared (event_id, key) WHERE declared.event_id IN (SELECT event_id FROM fresh)')} AS locked
    FROM fresh`

class HandlerFailure extends Error {
  constructor(
    readonly delivery: Accepted,
    override readonly cause: Error
  ) {
    super(cause.message)
  }
}

/**
 * Handles one batch of deliveries and settles each.
 *
 * Contract: invalid deliveries are dead-lettered. The valid ones are handled in one transaction
 * with a multi-row dedupe insert, so the dedupe rows and the handlers' writes commit together and
 * an event already handled is a duplicate (acked, not run). When a handler throws, the transaction
 * rolls back, that event alone fails (retried or dead-lettered) and the others are handled again
 * without it. When the database fails instead, nothing is an attempt: after a lock conflict each
 * event is handled again alone, after a lost database once it answers. A redelivered event runs
 * alone after a committed mark of its start; interrupted more than `crashLimit` times, it is
 * dead-lettered with that reason. A delivery whose channel closed, or left when the consumer
 * stops, is not settled: the broker redelivers it. Each handler runs with its event as the cause
 * of the events it emits.
 */
export class BatchHandler {
  constructor(private readonly options: BatchHandlerOptions) {}

  async process(batch: Delivery[]) {
    const { consumer, metrics, logger, crashLimit, failures, pause } = this.options
    const accepted: Accepted[] = []
    for (const delivery of batch) {
      if (delivery.invalid) await failures.deadLetter(delivery, delivery.invalid)
      else accepted.push(delivery as Accepted)
    }
    if (accepted.length === 0) return
    if (accepted.length === 1 && accepted[0].message.fields.redelivered) {
      const starts = await pause.whileFailing(() => this.markStarted(accepted[0].event))
      if (starts === undefined) return
      if (starts > crashLimit) {
        const error = new Error(`its handling was interrupted ${starts - 1} times (the consumer crashed or lost its connections while handling it)`)
        return failures.deadLetter(accepted[0], error)
      }
    }
    const outcomes = await this.handleAll(accepted)
    for (const delivery of accepted) {
      const outcome = outcomes.get(delivery)
      // Not handled (its channel closed, or the consumer is stopping): the broker redelivers it.
      if (!outcome) continue
      const labels = { type: delivery.event.type, consumer }
      if (outcome.status === 'failed') {
        metrics.failed.inc(labels)
        logger.warn({ eventId: delivery.event.id, eventType: delivery.event.type, err: outcome.error.message }, 'event handler failed')
        await failures.retryOrDeadLetter(delivery, outcome.error)
      } else {
        metrics[outcome.status === 'done' ? 'consumed' : 'duplicates'].inc(labels)
        delivery.acks.ack(delivery.message)
      }
    }
  }

  /** Committed before the handler runs, so a crash during it is counted. */
  private async markStarted(event: EventEnvelope) {
    const { db, consumer } = this.options
    const [row] = await db('interrupted_events')
      .insert({ consumer, event_id: event.id, starts: 1 })
      .onConflict(['consumer', 'event_id'])
      .merge({ starts: db.raw('interrupted_events.starts + 1'), last_started_at: db.fn.now() })
      .returning('starts')
    return row.starts as number
  }

  /** The events handled in as few transactions as their failures allow. */
  private async handleAll(accepted: Accepted[]) {
    const outcomes = new Map<Delivery, Outcome>()
    const groups = [accepted]
    while (groups.length > 0 && !this.options.isStopping()) {
      const group = groups.shift()!.filter(({ acks }) => acks.isOpen)
      if (group.length === 0) continue
      try {
        for (const [delivery, outcome] of await this.handleInOneTransaction(group)) outcomes.set(delivery, outcome)
      } catch (error) {
        const failure = error instanceof HandlerFailure ? error : undefined
        const cause = failure?.cause ?? (error as Error)
        if (await isInfrastructureFailure(cause, this.options.db)) {
          if (isLockConflict(cause)) {
            groups.unshift(...group.map((delivery) => [delivery]))
          } else {
            await this.options.pause.untilDatabaseAnswers(cause)
            groups.unshift(group)
          }
        } else if (failure) {
          outcomes.set(failure.delivery, { status: 'failed', error: cause })
          groups.unshift(group.filter((delivery) => delivery !== failure.delivery))
        } else {
          for (const delivery of group) outcomes.set(delivery, { status: 'failed', error: cause })
        }
      }
    }
    return outcomes
  }

  /** One transaction: a multi-row dedupe insert with the locks the new events' handlers declared (RECORD_AND_LOCK), then every new event's handler in turn. */
  private async handleInOneTransaction(accepted: Accepted[]) {
    const { db, consumer, handlers } = this.options
    const outcomes = new Map<Delivery, Outcome>()
    await runInTransaction(db, async (trx) => {
      const ids = [...new Set(accepted.map(({ event }) => event.id))].sort()
      const declared = accepted.flatMap((delivery) => handlers.locksOf(delivery).map((key) => [delivery.event.id, key]))
      const { rows } = await trx.raw<{ rows: Array<{ event_id: string }> }>(RECORD_AND_LOCK, [
        consumer,
        ids,
        declared.map(([id]) => id),
        declared.map(([, key]) => key)
      ])
      const fresh = new Set(rows.map((row) => row.event_id))
      for (const delivery of accepted) {
        const { event } = delivery
        // The same event twice in one batch: the first one handles it.
        if (!fresh.delete(event.id)) {
          outcomes.set(delivery, { status: 'duplicate' })
          continue
        }
        await this.runHandler(trx, delivery).catch((error: Error) => {
          throw new HandlerFailure(delivery, error)
        })
        outcomes.set(delivery, { status: 'done' })
      }
      const redelivered = accepted.filter(({ message }) => message.fields.redelivered).map(({ event }) => event.id)
      if (redelivered.length > 0) await trx('interrupted_events').where({ consumer }).whereIn('event_id', redelivered).delete()
    })
    return outcomes
  }

  private runHandler(trx: Knex.Transaction, delivery: Accepted) {
    const { logger, emit, emitAlongside, effects, handlers } = this.options
    const { event } = delivery
    const { handler } = handlers.get(event.type)
    const parent = delivery.message.properties.headers?.[TRACEPARENT]
    const attributes = {
      ...eventAttributes(event.type, event.data),
      'marketmesh.consumer': this.options.consumer,
      'messaging.system': 'rabbitmq',
      'messaging.operation.type': 'process',
      'messaging.message.id': event.id
    }
    // Handlers of one batch run one after the other in its transaction: each one's follow-up events
    // stem from its event, and its span (a child of the publish) is the parent of what it emits and schedules.
    return inSpan(`process ${event.type}`, { kind: SpanKind.CONSUMER, parent: parent === undefined ? null : String(parent), attributes }, () =>
      withEventCause({ correlationId: event.correlationId, causationId: event.id }, () =>
        handler(event, {
          trx,
          emit: (type, data) => emit(trx, type, data) as never,
          emitAlongside: (type, data) => emitAlongside(trx, type, data) as never,
          schedule: (kind, key, payload, options) => effects.schedule(trx, kind, key, payload, options),
          scheduleAlongside: (scheduled) => effects.scheduleAlongside(trx, scheduled),
          logger: logger.child({ requestId: event.correlationId, eventId: event.id, eventType: event.type }),
          attempt: attemptOf(delivery)
        })
      )
    )
  }
}
