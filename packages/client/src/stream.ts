import { createParser } from 'eventsource-parser'
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
} from './schema-types.js'
import type { Fetch, Session } from './session.js'
import { streamRequestFor, type StreamRequest, type StreamResponse } from './stream-request.js'

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

/** A message of an EventSource, or its error (the `eventsource` package's carries the status code and a message). */
interface SourceEvent {
  data: string
  lastEventId: string
  code?: number
  message?: string
}

/** The part of the WHATWG EventSource the stream uses with `options.EventSource`. */
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
  /** A failed or ended connection; the stream opens again by itself unless the session has ended. */
  onError?: (error: { message: string; status?: number }) => void
  /** Closes the stream when aborted, like `close()`. */
  signal?: AbortSignal
  /**
   * The browser's `EventSource` (`window.EventSource`): the access token then travels as
   * `?token=`, since it cannot send headers. Without it, the stream is read over `fetch` (or
   * XMLHttpRequest where `fetch` cannot stream, as in React Native), with the token in the
   * Authorization header.
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
/** The wait before opening again until the server says how long (`retry`), as browsers' EventSource. */
const DEFAULT_RETRY_MS = 3_000
const knownTypes = new Set<string>(streamEventTypes)

const messageOf = (id: string | undefined, type: StreamEventType, data: string) =>
  ({ id: id ? Number(id) : undefined, type, data: JSON.parse(data) }) as StreamEvent

/** `streamUrl` with the parameters that have a value, built as text (React Native's URLSearchParams cannot set any). */
const urlWith = (streamUrl: string, parameters: Record<string, string | undefined>) => {
  const query = Object.entries(parameters).flatMap(([name, value]) => (value === undefined ? [] : [`${name}=${encodeURIComponent(value)}`]))
  return query.length === 0 ? streamUrl : `${streamUrl}${streamUrl.includes('?') ? '&' : '?'}${query.join('&')}`
}

/** Why a stream was refused: the error's message from its JSON body, or its status. */
const refusalOf = async (response: StreamResponse) => {
  let body = ''
  await response.read((text) => (body += text)).catch(() => undefined)
  try {
    const { message } = JSON.parse(body) as { message?: unknown }
    if (typeof message === 'string') return message
  } catch {
    // Not a Feathers error: a proxy's page.
  }
  return `The stream was refused (${response.status})`
}

/**
 * `GET /stream` of notify-service, resumed across reconnections, token renewals and restarts
 * of the service: every reconnection asks for what came after the last id it got.
 */
export const openStream = (streamUrl: string, session: Session, fetchImplementation: Fetch | undefined, options: StreamOptions): Stream => {
  const stream = options.EventSource
    ? openEventSource(streamUrl, session, options.EventSource, options)
    : readStream(streamUrl, session, streamRequestFor(fetchImplementation), options)
  options.signal?.addEventListener('abort', () => stream.close(), { once: true })
  if (options.signal?.aborted) stream.close()
  return stream
}

/**
 * The stream read off the wire with eventsource-parser, as an EventSource would: opened again
 * after the `retry` the server sends when the connection ends or breaks (then after longer
 * waits, up to 30 s, while it keeps failing), asking for what came after the last id with
 * `?lastEventId=`. A refused token is renewed once; refused again, or with the session ended,
 * the stream stops.
 */
const readStream = (streamUrl: string, session: Session, request: StreamRequest, options: StreamOptions): Stream => {
  let lastEventId = options.lastEventId === undefined ? undefined : String(options.lastEventId)
  let retryMs = DEFAULT_RETRY_MS
  let failures = 0
  let closed = false
  // Each connection's own, so that nothing of an ended one stays attached to the stream.
  let connection: AbortController | undefined
  let wake: (() => void) | undefined

  const parser = createParser({
    onRetry: (ms) => (retryMs = ms),
    onEvent: ({ event, id, data }) => {
      if (id) lastEventId = id
      if (!event || !knownTypes.has(event)) return
      try {
        options.onEvent(messageOf(id, event as StreamEventType, data))
      } catch (error) {
        // As an EventSource's listener: reported, and the stream goes on.
        setTimeout(() => {
          throw error
        })
      }
    }
  })

  const headersWith = (token: string | undefined): Record<string, string> => ({
    Accept: 'text/event-stream',
    ...(token ? { Authorization: `Bearer ${token}` } : {})
  })

  /** One connection, read to its end: how long to wait before the next, or undefined to stop. */
  const connect = async (signal: AbortSignal): Promise<number | undefined> => {
    const url = urlWith(streamUrl, { lastEventId })
    const token = await session.accessToken()
    let response = await request(url, headersWith(token), signal)
    if (response.status === 401 && token) {
      response.cancel()
      const renewed = await session.renew(token)
      if (renewed) response = await request(url, headersWith(renewed), signal)
    }
    if (response.status !== 200 || !response.header('content-type')?.startsWith('text/event-stream')) {
      options.onError?.({ message: await refusalOf(response), status: response.status })
      if (response.status === 401 || !session.signedIn) return undefined
      failures++
      return Math.max(Number(response.header('retry-after')) * 1000 || 0, backoff())
    }
    failures = 0
    options.onOpen?.()
    parser.reset()
    const end = await response.read((text) => parser.feed(text))
    if (end === 'full') return 0
    options.onError?.({ message: 'The stream ended' })
    return retryMs
  }

  const backoff = () => Math.min(MAX_BACKOFF_MS, retryMs * 2 ** (failures - 1))

  const run = async () => {
    while (!closed) {
      let waitMs: number | undefined
      connection = new AbortController()
      try {
        waitMs = await connect(connection.signal)
      } catch (error) {
        if (closed) return
        options.onError?.({ message: (error as Error).message })
        failures++
        waitMs = session.signedIn ? backoff() : undefined
      } finally {
        connection.abort()
      }
      if (waitMs === undefined || closed) return
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs)
        wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
    }
  }
  void run()

  return {
    get lastEventId() {
      return lastEventId
    },
    close() {
      closed = true
      connection?.abort()
      wake?.()
    }
  }
}

/** The stream over the browser's own EventSource, which reconnects by itself with Last-Event-ID. */
const openEventSource = (streamUrl: string, session: Session, NativeEventSource: EventSourceConstructor, options: StreamOptions): Stream => {
  let lastEventId = options.lastEventId === undefined ? undefined : String(options.lastEventId)
  let source: EventSourceLike | undefined
  let closed = false
  let failures = 0
  let reopening: ReturnType<typeof setTimeout> | undefined

  const open = async () => {
    const next = new NativeEventSource(urlWith(streamUrl, { lastEventId, token: await session.accessToken() }))
    if (closed) return next.close()
    source = next
    for (const type of streamEventTypes) {
      next.addEventListener(type, (message) => {
        if (message.lastEventId) lastEventId = message.lastEventId
        options.onEvent(messageOf(message.lastEventId, type, message.data))
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
      // Closed for good: after an HTTP error (a refused token among them); with no session, nothing to open again with.
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
