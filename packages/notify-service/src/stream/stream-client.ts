import type { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { Connection, EventBuffer } from 'better-sse'
import type { Principal } from '@marketmesh/shared'
import { wireFrame, type Frame } from './frame'

export interface StreamClientOptions {
  /** Bytes a stream may have waiting (ours and the socket's) before it is disconnected. */
  maxBufferedBytes: number
  heartbeatMs: number
  /** The reconnection delay the stream suggests (`retry`). */
  retryMs: number
  onEvicted: (client: StreamClient) => void
}

const HEARTBEAT = wireFrame(new EventBuffer().comment().dispatch().read())

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
 */
export class StreamClient {
  private pending: Frame[] | undefined = []
  private pendingBytes = 0
  private queue: Frame[] = []
  private queuedBytes = 0
  private lastId = 0
  private closed = false
  private readonly heartbeat: NodeJS.Timeout
  private readonly socket: Socket
  private readonly chunked: boolean

  constructor(
    readonly principal: Principal,
    private readonly res: ServerResponse,
    private readonly options: StreamClientOptions
  ) {
    res.socket?.setNoDelay(true)
    // Merged with what the app's middleware set (request id, CORS).
    res.writeHead(200, Connection.constants.RESPONSE_HEADERS)
    res.write(new EventBuffer().retry(options.retryMs).dispatch().read())
    this.socket = res.socket!
    this.chunked = res.chunkedEncoding
    this.heartbeat = setInterval(() => this.beat(), options.heartbeatMs)
    const flush = () => this.flush()
    this.socket.on('drain', flush)
    res.once('close', () => {
      this.closed = true
      clearInterval(this.heartbeat)
      // A kept-alive socket may serve another request.
      this.socket.off('drain', flush)
    })
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
    if (this.bufferedBytes > this.options.maxBufferedBytes) this.evict()
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
    } else {
      this.write(frame)
    }
    if (this.bufferedBytes > this.options.maxBufferedBytes) this.evict()
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
    clearInterval(this.heartbeat)
    this.res.end()
  }

  /** A comment, so that proxies and the client see the connection alive; not behind a backlog. */
  private beat() {
    if (!this.closed && this.queue.length === 0 && !this.socket.writableNeedDrain) this.write(HEARTBEAT)
  }

  private write(frame: Frame) {
    this.socket.write(this.chunked ? frame.chunk : frame.bytes)
  }

  private flush() {
    while (this.queue.length > 0 && !this.socket.writableNeedDrain && !this.closed) {
      const frame = this.queue.shift()!
      this.queuedBytes -= frame.bytes.length
      this.write(frame)
    }
  }

  private evict() {
    if (this.closed) return
    this.closed = true
    this.pending = undefined
    this.queue = []
    this.pendingBytes = this.queuedBytes = 0
    this.res.destroy()
    this.options.onEvicted(this)
  }
}
