import type { EventEnvelope, EventType } from '../event-types'
import type { ConsumerTable } from '../topology'
import type { Delivery, EventHandler, HandlerOptions } from './deliveries'

export interface Registration {
  handler: EventHandler<EventType>
  locks?: (event: EventEnvelope) => string[]
  ownTransaction: boolean
}

/**
 * A consumer's handlers, one per event type.
 *
 * Contract: `boundTypes()` is the consumer's line of the consumer table, and throws unless the
 * handlers match it exactly (a consumer not in the table binds the types it has handlers for:
 * tests, benches). `runsAlone` says which deliveries form a batch of their own: a redelivery (it
 * may be what crashed the consumer) and an event whose handler takes locks (`ownTransaction`).
 */
export class HandlerRegistry {
  private readonly handlers = new Map<EventType, Registration>()

  constructor(
    private readonly consumer: string,
    private readonly consumers: ConsumerTable
  ) {}

  add<T extends EventType>(type: T, handler: EventHandler<T>, options: HandlerOptions<T>) {
    this.handlers.set(type, {
      handler: handler as unknown as EventHandler<EventType>,
      locks: options.locks as Registration['locks'],
      ownTransaction: options.ownTransaction ?? false
    })
  }

  /** The aggregate locks the handler of `delivery` declared, for its batch to take at its start. */
  locksOf({ event }: Delivery): string[] {
    return (event && this.get(event.type).locks?.(event)) ?? []
  }

  get size() {
    return this.handlers.size
  }

  has(type: EventType) {
    return this.handlers.has(type)
  }

  /** The registration of a type `has` answered for. */
  get(type: EventType): Registration {
    return this.handlers.get(type)!
  }

  /** The types bound to the queue: the consumer's line of the table, which its handlers must match. */
  boundTypes(): readonly EventType[] {
    const listed = this.consumers[this.consumer]
    if (!listed) return [...this.handlers.keys()]
    const unlisted = [...this.handlers.keys()].filter((type) => !listed.includes(type))
    const unhandled = listed.filter((type) => !this.handlers.has(type))
    if (unlisted.length > 0 || unhandled.length > 0) {
      throw new Error(
        `${this.consumer}: its handlers must match its line in EVENT_CONSUMERS (@marketmesh/events)` +
          (unlisted.length ? `; handled but not listed: ${unlisted.join(', ')}` : '') +
          (unhandled.length ? `; listed but not handled: ${unhandled.join(', ')}` : '')
      )
    }
    return listed
  }

  runsAlone(delivery: Delivery) {
    return delivery.message.fields.redelivered || (delivery.event !== undefined && this.get(delivery.event.type).ownTransaction)
  }
}
