import { AsyncLocalStorage } from 'node:async_hooks'

/** What the events written to the outbox stem from: the HTTP request or the event being handled. */
export interface EventCause {
  /** The request id of the HTTP call at the start of the chain. */
  correlationId: string
  /** The id of the event being handled, if any. */
  causationId: string | null
}

// Node 24 keeps an AsyncLocalStorage's value in the async context frame (no promise hooks): reading
// it costs a lookup, and a process that never sets it pays nothing.
const eventCause = new AsyncLocalStorage<EventCause>()

/**
 * Runs `work` with `cause` as what the events it writes to the outbox stem from (their correlation
 * and causation ids), through every `await` inside it. `inTransaction()` runs a request's hooks and
 * method with its request id; the consumer runs each handler with its event's. Outside any, an
 * event starts its own correlation.
 */
export const withEventCause = <T>(cause: EventCause, work: () => T): T => eventCause.run(cause, work)

/** The cause `withEventCause` set around the caller, if any. */
export const currentEventCause = (): EventCause | undefined => eventCause.getStore()
