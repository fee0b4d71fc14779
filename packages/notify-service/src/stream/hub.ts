import { Counter, Gauge } from 'prom-client'
import { eventAttributes, SpanKind, startSpan } from '@marketmesh/events'
import { durationMs, type Principal, type ServiceApplication } from '@marketmesh/shared'
import { canSee } from '../log/audience'
import { streamOwner, streamOwners, type OpenStreams } from './control'
import type { Frame } from './frame'
import { StreamLimits } from './limits'
import type { StreamClient } from './stream-client'

export interface LogRow {
  id: number
  type: string
  data: unknown
  traceparent: string | null
  userId: string | null
  sellerId: string | null
  everyone: boolean
  devices: boolean
}

const deliveryAttributes = (row: LogRow) => ({ ...eventAttributes(row.type, row.data), 'marketmesh.notification_id': row.id })

// About how often the hub looks at its streams: the heartbeat interval is cut into ticks of about this.
const TICK_MS = 1_000

/**
 * The streams open on this instance. The log tail hands it each new notification once, as one
 * frame; it goes to every stream whose caller may see it. It counts them (`stream.maxPerCaller`,
 * `stream.maxPerAddress`, the callers' presence) and keeps their time: one timer for all, whose
 * ticks cut the heartbeat interval in slices, each stream beaten on its own slice (the heartbeats
 * of thousands of streams spread over the interval, not one burst), and each tick ends the
 * streams whose credential has expired (a tick late at most).
 */
export class StreamHub implements OpenStreams {
  private readonly clients = new Set<StreamClient>()
  /** Per stream being opened, the owners whose streams were ended meanwhile (see `opening`). */
  private readonly openings = new Set<Set<string>>()
  private readonly limits: StreamLimits
  private readonly tickMs: number
  private readonly heartbeatSlices: number
  private ticks = 0
  private added = 0
  /** Runs while any stream is open. */
  private ticker: NodeJS.Timeout | undefined
  /** The last log id handed out (the tail's position). */
  position = 0
  /** Bytes a stream may have waiting (ours and the socket's) before it is disconnected. */
  readonly maxBufferedBytes: number
  readonly evictions: Counter

  constructor(private readonly app: ServiceApplication) {
    const settings = app.get('stream')
    const registers = [app.get('metrics')]
    this.limits = new StreamLimits({ perCaller: settings.maxPerCaller, perAddress: settings.maxPerAddress }, app.get('metrics'))
    this.maxBufferedBytes = settings.maxBufferedBytes
    const heartbeatMs = durationMs(settings.heartbeat)
    this.heartbeatSlices = Math.max(1, Math.round(heartbeatMs / TICK_MS))
    this.tickMs = heartbeatMs / this.heartbeatSlices
    const clients = this.clients
    new Gauge({
      name: 'sse_connections',
      help: 'Open streams by kind of caller',
      labelNames: ['kind'],
      registers,
      collect() {
        this.reset()
        for (const kind of ['buyer', 'seller', 'admin', 'device']) this.set({ kind }, 0)
        for (const client of clients) this.inc({ kind: client.principal.role })
      }
    })
    new Gauge({
      name: 'sse_buffered_bytes',
      help: 'Bytes written to streams and not yet taken by their clients',
      registers,
      collect() {
        let bytes = 0
        for (const client of clients) bytes += client.bufferedBytes
        this.set(bytes)
      }
    })
    this.evictions = new Counter({ name: 'sse_evictions_total', help: 'Streams cut off for falling too far behind', registers })
  }

  /**
   * Counts one more stream of `principal` from `address`, or says why it may not open (see
   * StreamLimits). The count is released when the stream ends (`ended`), or by `release` if it never opens.
   */
  admit(principal: Principal, address: string) {
    return this.limits.admit(streamOwner(principal), address)
  }

  release(principal: Principal, address: string) {
    this.limits.release(streamOwner(principal), address)
  }

  /** An admitted stream, open: it gets the live frames from now on. */
  add(client: StreamClient) {
    client.heartbeatSlice = this.added++ % this.heartbeatSlices
    this.clients.add(client)
    this.ticker ??= setInterval(() => this.tick(), this.tickMs)
    this.app.get('printerPresence').streamOpened(client.principal)
    this.app.get('userPresence').streamOpened(client.principal)
  }

  /** Its response closed, however it ended. */
  ended(client: StreamClient) {
    this.forget(client)
    this.release(client.principal, client.address)
    this.app.get('printerPresence').streamClosed(client.principal)
    this.app.get('userPresence').streamClosed(client.principal)
  }

  /** Cut off for falling too far behind. */
  evicted(client: StreamClient) {
    this.forget(client)
    this.evictions.inc()
  }

  /** The callers with a stream open here. */
  callers() {
    return [...this.clients].map((client) => client.principal)
  }

  /** Hands the frame to every stream that may see it; a notification appended under a span is delivered in a child span of it. */
  publish(row: LogRow, frame: Frame) {
    this.position = row.id
    const span = row.traceparent
      ? startSpan(`sse ${row.type}`, { kind: SpanKind.PRODUCER, parent: row.traceparent, attributes: deliveryAttributes(row) })
      : undefined
    let streams = 0
    for (const client of this.clients) {
      if (!canSee(client.principal, row)) continue
      client.deliver(frame)
      streams++
    }
    span?.setAttribute('marketmesh.streams', streams).end()
  }

  /**
   * Call before a stream reads its caller's credential, and `done` once it is in the hub. A
   * revocation that commits after the read ends the streams in the hub before this one is added;
   * `endedMeanwhile` tells the stream it must not live.
   */
  opening() {
    const ended = new Set<string>()
    this.openings.add(ended)
    return {
      endedMeanwhile: (principal: Principal) => streamOwners(principal).some((owner) => ended.has(owner)),
      done: () => this.openings.delete(ended)
    }
  }

  /** Ends the streams of `owner` (see control.ts), also those being opened. */
  end(owner: string) {
    for (const ended of this.openings) ended.add(owner)
    this.close((principal) => streamOwners(principal).includes(owner))
  }

  /** Ends the streams `matches` picks, or all. */
  close(matches: (principal: Principal) => boolean = () => true) {
    for (const client of this.clients) {
      if (!matches(client.principal)) continue
      client.close()
      this.forget(client)
    }
  }

  private forget(client: StreamClient) {
    this.clients.delete(client)
    if (this.clients.size > 0 || !this.ticker) return
    clearInterval(this.ticker)
    this.ticker = undefined
  }

  private tick() {
    const now = Date.now()
    const slice = this.ticks++ % this.heartbeatSlices
    for (const client of this.clients) {
      if (client.expiresAt <= now) {
        client.close()
        this.forget(client)
      } else if (client.heartbeatSlice === slice) client.beat()
    }
  }
}
