import { EventSource } from 'eventsource'
import { backoffDelay } from './backoff'
import { reasonOf, refusedToken } from './device-api'

export interface StreamMessage {
  type: string
  /** The message's id in the notification log; '' for one without (a queued job sent again on connect). */
  id: string
  data: string
}

/** The service sends a heartbeat at least every 15 s: this much silence means the connection is dead without knowing it. */
const SILENCE_MS = 45_000

/**
 * `GET /stream` as the device, for as long as `signal` lets it: every connection asks for what
 * came after `lastEventId()`, and a lost, refused (5xx) or silent one is opened again after a
 * growing, jittered wait. Rejects with RefusedTokenError when the token is refused.
 */
export const followDeviceStream = (options: {
  url: string
  token: string
  types: string[]
  lastEventId: () => string | undefined
  onMessage: (message: StreamMessage) => void
  log: (line: string) => void
  signal: AbortSignal
}) =>
  new Promise<void>((resolve, reject) => {
    let attempt = 0
    let source: EventSource | undefined
    let silence: NodeJS.Timeout | undefined
    let reconnect: NodeJS.Timeout | undefined
    // Why the service refused the token, from its answer: the error event has only the status.
    let refusal: string | undefined

    const stop = () => {
      clearTimeout(silence)
      clearTimeout(reconnect)
      source?.close()
    }
    options.signal.addEventListener(
      'abort',
      () => {
        stop()
        resolve()
      },
      { once: true }
    )

    const connect = () => {
      const silent = new AbortController()
      const heard = () => {
        clearTimeout(silence)
        silence = setTimeout(() => silent.abort(new Error(`nothing heard for ${SILENCE_MS / 1000} s`)), SILENCE_MS)
      }
      source = new EventSource(`${options.url}/stream`, {
        fetch: async (input, init) => {
          const headers: Record<string, string> = { ...(init?.headers as Record<string, string>), Authorization: `Bearer ${options.token}` }
          const lastEventId = options.lastEventId()
          if (lastEventId) headers['Last-Event-ID'] = lastEventId
          const response = await fetch(input, {
            ...init,
            headers,
            signal: AbortSignal.any([init?.signal, silent.signal].filter((signal) => !!signal))
          })
          heard()
          if (response.status === 401 || response.status === 403) refusal = await reasonOf(response.clone())
          const body = response.body?.pipeThrough(
            new TransformStream({
              transform(chunk, controller) {
                heard()
                controller.enqueue(chunk)
              }
            })
          )
          return new Response(body, response)
        }
      })
      const current = source
      for (const type of options.types) {
        current.addEventListener(type, (event) => options.onMessage({ type, id: event.lastEventId, data: event.data }))
      }
      current.addEventListener('open', () => {
        attempt = 0
        options.log(`connected to ${options.url}/stream${options.lastEventId() ? ` after message ${options.lastEventId()}` : ''}`)
      })
      current.addEventListener('error', (event) => {
        current.close()
        clearTimeout(silence)
        if (options.signal.aborted) return
        if (event.code === 401 || event.code === 403) {
          stop()
          return reject(refusedToken(event.code, refusal ?? event.message ?? 'refused'))
        }
        const delay = backoffDelay(attempt++)
        options.log(
          `stream lost (${event.code ? `HTTP ${event.code}` : (event.message ?? 'connection closed')}); reconnecting in ${(delay / 1000).toFixed(1)} s`
        )
        reconnect = setTimeout(connect, delay)
      })
    }
    connect()
  })
