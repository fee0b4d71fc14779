import type { Fetch } from './session.js'

/** The answer to one `GET /stream`: its head, then its body as text, as it arrives. */
export interface StreamResponse {
  readonly status: number
  header(name: string): string | null
  /**
   * Hands the body's text to `onText` chunk by chunk. Resolves `'ended'` when the server ends the
   * body, `'full'` when this connection has held enough text and should be opened again at once;
   * rejects when the connection breaks.
   */
  read(onText: (text: string) => void): Promise<'ended' | 'full'>
  /** Drops the connection. */
  cancel(): void
}

/** Sends `GET url` with `headers`, resolving once the answer's head is in; `signal` drops it. */
export type StreamRequest = (url: string, headers: Record<string, string>, signal: AbortSignal) => Promise<StreamResponse>

const fetchRequest =
  (fetchImplementation: Fetch): StreamRequest =>
  async (url, headers, signal) => {
    const response = await fetchImplementation(url, { headers, signal })
    return {
      status: response.status,
      header: (name) => response.headers.get(name),
      async read(onText) {
        if (!response.body) throw new Error('The stream came without a body')
        const reader = response.body.getReader()
        const decoder = new TextDecoder()
        for (;;) {
          const { done, value } = await reader.read()
          if (done) return 'ended'
          onText(decoder.decode(value, { stream: true }))
        }
      },
      cancel: () => void response.body?.cancel().catch(() => undefined)
    }
  }

/**
 * What one XMLHttpRequest's `responseText` may grow to: it keeps all the connection received, so
 * past this the stream is opened again (resuming after its last id) to let it go.
 */
const MAX_RESPONSE_TEXT = 1 << 20
const DONE = 4

/** What the stream uses of an XMLHttpRequest: the browser's, React Native's, or a polyfill's. */
interface XhrLike {
  readonly readyState: number
  readonly status: number
  readonly responseText: string
  onreadystatechange: (() => void) | null
  onprogress: (() => void) | null
  onerror: (() => void) | null
  open(method: string, url: string): void
  setRequestHeader(name: string, value: string): void
  getResponseHeader(name: string): string | null
  send(): void
  abort(): void
}
type XhrConstructor = new () => XhrLike

/**
 * The stream over XMLHttpRequest, read from its growing `responseText` on each `progress` and
 * readyState 3 (React Native's XMLHttpRequest updates it as data comes, when one of the two
 * handlers is set before `send`).
 */
const xhrRequest =
  (Xhr: XhrConstructor): StreamRequest =>
  (url, headers, signal) =>
    new Promise((resolve, reject) => {
      const xhr = new Xhr()
      let answered = false
      let seen = 0
      let reader: { onText: (text: string) => void; resolve: (end: 'ended' | 'full') => void; reject: (error: Error) => void } | undefined
      let outcome: 'ended' | 'full' | Error | undefined

      const settle = (result: 'ended' | 'full' | Error) => {
        outcome ??= result
        if (!reader) return
        if (outcome instanceof Error) reader.reject(outcome)
        else reader.resolve(outcome)
      }
      const fail = (error: Error) => {
        if (answered) settle(error)
        else reject(error)
      }
      const flush = () => {
        if (!reader || (outcome && outcome !== 'ended')) return
        const text = xhr.responseText
        if (text.length <= seen) return
        const chunk = text.slice(seen)
        seen = text.length
        reader.onText(chunk)
        if (seen > MAX_RESPONSE_TEXT) {
          settle('full')
          xhr.abort()
        }
      }

      xhr.onreadystatechange = () => {
        if (xhr.readyState < 2 || outcome) return
        // No status when done: the connection failed (or was aborted), and responseText holds no stream.
        if (xhr.readyState === DONE && !xhr.status) return fail(new Error('The stream connection failed'))
        // Some XMLHttpRequests have the status only from readyState 3 on.
        if (!answered && xhr.status) {
          answered = true
          resolve({
            status: xhr.status,
            header: (name) => xhr.getResponseHeader(name),
            read: (onText) =>
              new Promise((resolveRead, rejectRead) => {
                reader = { onText, resolve: resolveRead, reject: rejectRead }
                flush()
                if (outcome) settle(outcome)
              }),
            cancel: () => xhr.abort()
          })
        }
        flush()
        if (xhr.readyState === DONE) settle('ended')
      }
      xhr.onprogress = flush
      xhr.onerror = () => fail(new Error('The stream connection failed'))
      signal.addEventListener(
        'abort',
        () => {
          fail(signal.reason instanceof Error ? signal.reason : new Error('The stream was closed'))
          xhr.abort()
        },
        { once: true }
      )
      xhr.open('GET', url)
      for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value)
      xhr.send()
    })

/**
 * `fetch` where it streams response bodies (browsers, Node, Deno, Bun); XMLHttpRequest where it
 * does not: React Native's `fetch` (whatwg-fetch over XMLHttpRequest) has no `Response.body` and
 * hands the body over only once complete, which a stream never is.
 */
export const streamRequestFor = (fetchImplementation: Fetch | undefined): StreamRequest => {
  const streamingBodies = typeof Response === 'function' && 'body' in Response.prototype && typeof ReadableStream === 'function'
  const fetchToUse = fetchImplementation ?? (typeof fetch === 'function' ? (input, init) => globalThis.fetch(input, init) : undefined)
  if (streamingBodies && fetchToUse) return fetchRequest(fetchToUse)
  const Xhr = (globalThis as { XMLHttpRequest?: XhrConstructor }).XMLHttpRequest
  if (Xhr) return xhrRequest(Xhr)
  throw new Error('stream() needs fetch with streaming response bodies, or XMLHttpRequest')
}
