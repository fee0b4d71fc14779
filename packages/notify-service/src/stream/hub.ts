import { Counter, Gauge } from 'prom-client'
import type { Principal, ServiceApplication } from '@marketmesh/shared'
import { canSee } from '../log/audience'
import type { Frame } from './frame'
import type { StreamClient } from './stream-client'

export interface LogRow {
  id: number
  userId: string | null
  sellerId: string | null
  everyone: boolean
  devices: boolean
}

/**
 * The streams open on this instance. The log tail hands it each new notification once, as one
 * frame; it goes to every stream whose caller may see it.
 */
export class StreamHub {
  private readonly clients = new Set<StreamClient>()
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

  publish(row: LogRow, frame: Frame) {
    this.position = row.id
    for (const client of this.clients) if (canSee(client.principal, row)) client.deliver(frame)
  }

  /** Ends the streams `matches` picks (a revoked device, a disabled user), or all. */
  close(matches: (principal: Principal) => boolean = () => true) {
    for (const client of this.clients) {
      if (!matches(client.principal)) continue
      client.close()
      this.clients.delete(client)
    }
  }
}
