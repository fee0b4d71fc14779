import { EventSource as FetchEventSource } from 'eventsource'
import type {
  Announcement,
  ConversationMessage,
  OrderCancelledData,
  OrderCompletedData,
  OrderCreatedData,
  OrderDeliveredData,
  OrderPaidData,
  OrderRefundedData,
  OrderRejectedData,
  OrderShippedData,
  PayoutFailedData,
  PayoutPaidData,
  PayoutReversedData,
  PrintJobMessage,
  PrintJobUpdateMessage,
  UserNotificationData
} from './schema-types'
import type { Fetch, Session } from './session'

/** What `event:` each message of notify-service's `GET /stream` has, and its `data`. */
export interface StreamEventData {
  'user.registered': UserNotificationData
  'user.updated': UserNotificationData
  'order.created': OrderCreatedData
  'order.paid': OrderPaidData
  'order.rejected': OrderRejectedData
  'order.cancelled': OrderCancelledData
  'order.shipped': OrderShippedData
  'order.delivered': OrderDeliveredData
  'order.completed': OrderCompletedData
  'order.refunded': OrderRefundedData
  'payout.paid': PayoutPaidData
  'payout.failed': PayoutFailedData
  'payout.reversed': PayoutReversedData
  announcement: Pick<Announcement, 'id' | 'message' | 'level' | 'endsAt' | 'createdAt'>
  /** What the caller missed is no longer kept: load the current state again. */
  resync: { reason: string }
  'print.job': PrintJobMessage
  /** A print job of the seller's changed state (claimed, printed, failed, unconfirmed). */
  'print.job.updated': PrintJobUpdateMessage
  /** A message of one of the caller's conversations, new or hidden (then shown as removed: same id, `hidden`). */
  message: { conversationId: string; message: ConversationMessage }
}

export type StreamEventType = keyof StreamEventData

/** One message. `id` is its place in the notification log; the current announcements sent on opening have none. */
export type StreamEvent = { [T in StreamEventType]: { id?: number; type: T; data: StreamEventData[T] } }[StreamEventType]

const streamEventTypes = Object.keys({
  'user.registered': 0,
  'user.updated': 0,
  'order.created': 0,
  'order.paid': 0,
  'order.rejected': 0,
  'order.cancelled': 0,
  'order.shipped': 0,
  'order.delivered': 0,
  'order.completed': 0,
  'order.refunded': 0,
  'payout.paid': 0,
  'payout.failed': 0,
  'payout.reversed': 0,
  announcement: 0,
  resync: 0,
  'print.job': 0,
  'print.job.updated': 0,
  message: 0
} satisfies Record<StreamEventType, 0>) as StreamEventType[]

/** A message, or an error with the `eventsource` package's status code and message. */
interface SourceEvent {
  data: string
  lastEventId: string
  code?: number
  message?: string
}

/** The part of the WHATWG EventSource the stream uses: the browser's own, or the `eventsource` package's. */
export interface EventSourceLike {
  readonly readyState: number
  addEventListener(type: string, listener: (event: SourceEvent) => void): void
  close(): void
}
export type EventSourceConstructor = new (url: string) => EventSourceLike

export interface StreamOptions {
  onEvent: (event: StreamEvent) => void
  /** Resume after this id: what came since is replayed first, with no gap and no duplicate. */
  lastEventId?: number | string
  onOpen?: () => void
  /** A failed connection; the stream retries by itself unless the session has ended. */
  onError?: (error: { message: string; status?: number }) => void
  /**
   * The browser's `EventSource` (`window.EventSource`): the access token then travels as
   * `?token=`, since it cannot send headers. Without it, the `eventsource` package sends the token
   * in the Authorization header (in Node and in browsers).
   */
  EventSource?: EventSourceConstructor
}

export interface Stream {
  /** The id of the last message with one: where a later stream resumes. */
  readonly lastEventId: string | undefined
  close(): void
}

const CLOSED = 2
const MAX_BACKOFF_MS = 30_000

/**
 * `GET /stream` of notify-service, resumed across reconnections, token renewals and restarts
 * of the service: every reconnection asks for what came after the last id it got.
 */
export const openStream = (streamUrl: string, session: Session, fetchImplementation: Fetch, options: StreamOptions): Stream => {
  const NativeEventSource = options.EventSource
  let lastEventId = options.lastEventId === undefined ? undefined : String(options.lastEventId)
  let source: EventSourceLike | undefined
  let closed = false
  let failures = 0
  let reopening: ReturnType<typeof setTimeout> | undefined

  const urlWith = (parameters: Record<string, string | undefined>) => {
    const url = new URL(streamUrl)
    for (const [name, value] of Object.entries(parameters)) if (value !== undefined) url.searchParams.set(name, value)
    return url.toString()
  }

  const open = async () => {
    const next = NativeEventSource
      ? new NativeEventSource(urlWith({ lastEventId, token: await session.accessToken() }))
      : new FetchEventSource(urlWith({ lastEventId }), { fetch: session.authorizedFetch(fetchImplementation) })
    if (closed) return next.close()
    source = next
    for (const type of streamEventTypes) {
      next.addEventListener(type, (message) => {
        if (message.lastEventId) lastEventId = message.lastEventId
        options.onEvent({ id: message.lastEventId ? Number(message.lastEventId) : undefined, type, data: JSON.parse(message.data) } as StreamEvent)
      })
    }
    next.addEventListener('open', () => {
      failures = 0
      options.onOpen?.()
    })
    next.addEventListener('error', (event) => {
      options.onError?.({ message: event.message ?? 'The stream failed', status: event.code })
      // Open, or CONNECTING again: the EventSource reconnects by itself, with Last-Event-ID.
      if (closed || next.readyState !== CLOSED) return
      // Closed for good: a refused token (already renewed once, or no session), or a browser's EventSource after an HTTP error.
      if (event.code === 401 || !session.signedIn) return
      failures++
      reopening = setTimeout(() => void open().catch(reportFailure), Math.min(MAX_BACKOFF_MS, 500 * 2 ** failures))
    })
  }

  const reportFailure = (error: Error) => options.onError?.({ message: error.message })
  void open().catch(reportFailure)

  return {
    get lastEventId() {
      return lastEventId
    },
    close() {
      closed = true
      clearTimeout(reopening)
      source?.close()
    }
  }
}
