import type { ConsumeMessage } from 'amqplib'
import type { Knex } from 'knex'
import type { Logger } from 'pino'
import type { AckWindow } from '../acks'
import type { ScheduledEffect } from '../effects'
import type { EventData, EventEnvelope, EventType } from '../event-types'
import { ATTEMPT_HEADER, DEAD_LETTER_HEADERS } from '../topology'

export interface HandlerContext {
  /** The transaction the dedupe row commits in: write through it, and the effect happens once. */
  trx: Knex.Transaction
  /** Emits a follow-up event through the outbox, in the same transaction. */
  emit: <U extends EventType>(type: U, data: EventData<U>) => Promise<EventEnvelope<U>>
  /** Like `emit`, for a statement of the handler's that writes the event alongside its own work (`EventBus.emitAlongside`). */
  emitAlongside: <U extends EventType>(type: U, data: EventData<U>) => Promise<{ envelope: EventEnvelope<U>; write: Knex.Raw }>
  /**
   * Schedules work outside the database (mail, print, a payment call) in the same transaction:
   * it is carried out once after commit, however often this handler runs. Returns its stable id.
   */
  schedule: (kind: string, key: string, payload: unknown, options?: { delayMs?: number }) => Promise<string>
  /** Like `schedule` for several effects, for a statement of the handler's that writes them alongside its own work (`SideEffects.scheduleAlongside`). */
  scheduleAlongside: (effects: ScheduledEffect[]) => Knex.Raw
  /** Its lines carry the event's requestId (correlation id), eventId and eventType. */
  logger: Logger
  /** 1 on first delivery, counting up through the retries. */
  attempt: number
}

export type EventHandler<T extends EventType> = (event: EventEnvelope<T>, context: HandlerContext) => Promise<void>

export interface HandlerOptions<T extends EventType = EventType> {
  /**
   * The aggregates (`aggregateKey`s) whose locks cover every lock the handler takes for `event`
   * (its advisory locks, and the rows only handlers holding those touch). The batch takes them all
   * at its start, in one order (`lockAggregates`), so batches of such handlers run in one
   * transaction each and never deadlock.
   */
  locks?: (event: EventEnvelope<T>) => string[]
  /**
   * The handler takes locks it cannot declare (rows it finds as it goes): it runs in a transaction
   * of its own, so two batches never hold each other's locks and deadlock.
   */
  ownTransaction?: boolean
}

/** A message as received: its channel's ack window, and the event parsed from it or why it is none. */
export interface Delivery {
  acks: AckWindow
  message: ConsumeMessage
  event?: EventEnvelope
  invalid?: Error
}

/** A delivery whose event is valid and has a handler. */
export interface Accepted extends Delivery {
  event: EventEnvelope
}

export type Outcome = { status: 'done' | 'duplicate' } | { status: 'failed'; error: Error }

/** 1 on first delivery; the retry queues count up in a header. */
export const attemptOf = ({ message }: Delivery) => Number(message.properties.headers?.[ATTEMPT_HEADER] ?? 1)

/** A message back from a retry queue arrives with the queue's name as routing key. */
export const originalRoutingKey = (message: ConsumeMessage) =>
  String(message.properties.headers?.[DEAD_LETTER_HEADERS.routingKey] ?? message.properties.type ?? message.fields.routingKey)

export const eventTypeOf = (message: ConsumeMessage) => String(message.properties.type ?? message.fields.routingKey)
