import type { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { Connection, EventBuffer } from 'better-sse'
import type { Principal } from '@marketmesh/shared'
import { wireFrame, type Frame } from './frame'
import type { StreamHub } from './hub'

export interface StreamCallerDetails {
  principal: Principal
  /** The client's address, as its stream is counted under (`stream.maxPerAddress`). */
  address: string
  /** When its credential expires (ms since the epoch): the hub ends the stream then. */
  expiresAt: number
  /** The reconnection delay the stream suggests (`retry`). */
  retryMs: number
}

const HEARTBEAT = wireFrame(new EventBuffer().comment().dispatch().read())

/**
 * node:http keeps the head it sent (`_header`, which `headersSent` reads) for the response's life,
 * as the string it concatenated header by header: a tree of some 40 pieces, 1.3 KB. Reading a
 * character makes V8 flatten it in place, into one string of its ~350 bytes.
 */
const flattenSentHead = (res: ServerResponse) => (res as ServerResponse & { _header: string | null })._header?.charCodeAt(0)

/**
 * One open stream, written to directly: a better-sse `Session` per connection (an undici Request
 * and Response, an AbortController, its buffer) costs more memory than the socket it serves, so
 * the stream is better-sse's wire format and headers without it. Past the head, frames go to the
 * socket itself, already framed as HTTP chunks: one write each, nothing allocated per stream
 * (ServerResponse would frame each chunk again and cork and uncork the socket around it; `end`
 * still closes the chunked body). While it replays, live frames wait in `pending` (the replay may
 * still be reading them); then it goes live and skips what the replay already sent. It never
 * writes while the socket wants to drain: frames queue (references to the shared frames) and
 * flush on `drain`; a client whose backlog passes the bound is cut off, to replay on reconnect.
 * Its timers are the hub's (heartbeats, the credential's expiry), and its one listener, on the
 * response's `close`, tells the hub it ended: thousands of streams, each a few hundred bytes
 * beside its socket.
 */
export class StreamClient {
  readonly principal: Principal
  readonly address: string
  readonly expiresAt: number
  /** Which of the hub's ticks in a heartbeat interval beats this stream (set by the hub). */
  heartbeatSlice = 0
  private pending: Frame[] | undefined = []
  private pendingBytes = 0
  private queue: Frame[] = []
  private queuedBytes = 0
  private lastId = 0
  private closed = false
  /** Listens for `drain` while frames wait in the queue. */
  private flushOnDrain: (() => void) | undefined
  private readonly socket: Socket
  private readonly chunked: boolean

  constructor(
    private readonly hub: StreamHub,
    private readonly res: ServerResponse,
    { principal, address, expiresAt, retryMs }: StreamCallerDetails
  ) {
    this.principal = principal
    this.address = address
    this.expiresAt = expiresAt
    res.socket?.setNoDelay(true)
    // Merged with what the app's middleware set (request id, CORS).
    res.writeHead(200, Connection.constants.RESPONSE_HEADERS)
    res.write(new EventBuffer().retry(retryMs).dispatch().read())
    flattenSentHead(res)
    this.socket = res.socket!
    this.chunked = res.chunkedEncoding
    res.on('close', () => this.ended())
  }

  /** Bytes waiting for this client: behind its replay, in our queue and in the socket's buffer. */
  get bufferedBytes() {
    return this.pendingBytes + this.queuedBytes + this.socket.writableLength
  }

  /** A live frame from the log tail. */
  deliver(frame: Frame) {
    if (!this.pending) return this.send(frame)
    this.pending.push(frame)
    this.pendingBytes += frame.bytes.length
    if (this.bufferedBytes > this.hub.maxBufferedBytes) this.evict()
  }

  /** A frame read by the replay, or sent before it (resync, current announcements). */
  send(frame: Frame) {
    if (this.closed) return
    if (frame.id !== undefined) {
      if (frame.id <= this.lastId) return
      this.lastId = frame.id
    }
    if (this.queue.length > 0 || this.socket.writableNeedDrain) {
      this.queue.push(frame)
      this.queuedBytes += frame.bytes.length
      this.flushWhenDrained()
    } else {
      this.write(frame)
    }
    if (this.bufferedBytes > this.hub.maxBufferedBytes) this.evict()
  }

  /** Replay done: the frames that came meanwhile, without what the replay sent. */
  goLive() {
    const pending = this.pending ?? []
    this.pending = undefined
    this.pendingBytes = 0
    for (const frame of pending) this.send(frame)
  }

  close() {
    if (this.closed) return
    this.closed = true
    this.res.end()
  }

  /** A comment, so that proxies and the client see the connection alive; not behind a backlog. */
  beat() {
    if (!this.closed && this.queue.length === 0 && !this.socket.writableNeedDrain) this.write(HEARTBEAT)
  }

  private write(frame: Frame) {
    this.socket.write(this.chunked ? frame.chunk : frame.bytes)
  }

  private flushWhenDrained() {
    if (this.flushOnDrain) return
    this.flushOnDrain = () => {
      this.flushOnDrain = undefined
      this.flush()
    }
    this.socket.once('drain', this.flushOnDrain)
  }

  private flush() {
    while (this.queue.length > 0 && !this.socket.writableNeedDrain && !this.closed) {
      const frame = this.queue.shift()!
      this.queuedBytes -= frame.bytes.length
      this.write(frame)
    }
    if (this.queue.length > 0 && !this.closed) this.flushWhenDrained()
  }

  private evict() {
    if (this.closed) return
    this.closed = true
    this.pending = undefined
    this.queue = []
    this.pendingBytes = this.queuedBytes = 0
    this.res.destroy()
    this.hub.evicted(this)
  }

  private ended() {
    this.closed = true
    // A kept-alive socket may serve another request.
    if (this.flushOnDrain) this.socket.off('drain', this.flushOnDrain)
    this.hub.ended(this)
  }
}
