import { Counter, Gauge } from 'prom-client'
import { eventAttributes, SpanKind, startSpan } from '@marketmesh/events'
import type { Principal, ServiceApplication } from '@marketmesh/shared'
import { canSee } from '../log/audience'
import { streamOwners, type OpenStreams } from './control'
import type { Frame } from './frame'
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

/**
 * The streams open on this instance. The log tail hands it each new notification once, as one
 * frame; it goes to every stream whose caller may see it.
 */
export class StreamHub implements OpenStreams {
  private readonly clients = new Set<StreamClient>()
  /** Per stream being opened, the owners whose streams were ended meanwhile (see `opening`). */
  private readonly openings = new Set<Set<string>>()
  /** The last log id handed out (the tail's position). */
  position = 0
  readonly evictions: Counter

  constructor(app: ServiceApplication) {
    const registers = [app.get('metrics')]
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

  add(client: StreamClient) {
    this.clients.add(client)
  }

  remove(client: StreamClient) {
    this.clients.delete(client)
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
      this.clients.delete(client)
    }
  }
}
