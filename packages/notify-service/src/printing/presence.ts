import { durationMs, runPeriodically, type Knex, type Logger, type Principal, type ServiceApplication } from '@marketmesh/shared'

/**
 * When each device was last seen and how, for `GET /printers`. A stream marks its device seen
 * when it opens and closed when the device's last stream on this instance ends; while open, every
 * instance refreshes its streams' devices a few times per `onlineWindow`. A CloudPRNT poll marks
 * it seen, written at most a few times per window (printers poll every few seconds).
 */
export class PrinterPresence {
  private readonly streams = new Map<string, number>()
  private readonly pollWrites = new Map<string, number>()

  constructor(
    private readonly db: Knex,
    private readonly logger: Logger,
    readonly windowMs: number
  ) {}

  /** A stream opened here. Only devices' streams count. */
  streamOpened(principal: Principal) {
    if (principal.role !== 'device') return
    const id = principal.id
    this.streams.set(id, (this.streams.get(id) ?? 0) + 1)
    this.record(this.seen(id, 'sse'))
  }

  /** A stream `streamOpened` counted has ended. */
  streamClosed(principal: Principal) {
    if (principal.role !== 'device') return
    const id = principal.id
    const left = (this.streams.get(id) ?? 1) - 1
    if (left > 0) return void this.streams.set(id, left)
    this.streams.delete(id)
    this.record(this.db('printer_presence').where({ deviceId: id }).update({ lastSeenAt: this.db.fn.now(), streamClosedAt: this.db.fn.now() }))
  }

  /** A CloudPRNT poll. */
  polled(deviceId: string) {
    const now = Date.now()
    if (now - (this.pollWrites.get(deviceId) ?? 0) < this.windowMs / 4) return
    this.pollWrites.set(deviceId, now)
    this.record(this.seen(deviceId, 'cloudprnt'))
  }

  /** The devices streaming here are still there. */
  async refresh() {
    if (this.streams.size === 0) return
    await this.db('printer_presence')
      .whereIn('deviceId', [...this.streams.keys()])
      .update({ lastSeenAt: this.db.fn.now() })
  }

  private seen(deviceId: string, transport: 'sse' | 'cloudprnt') {
    const row = { deviceId, transport, lastSeenAt: this.db.fn.now(), streamClosedAt: null }
    return this.db('printer_presence').insert(row).onConflict('deviceId').merge()
  }

  // Presence is shown, never acted on: a failed write is logged, and the next one mends it.
  private record(write: PromiseLike<unknown>) {
    Promise.resolve(write).catch((error: Error) => this.logger.warn({ err: error.message }, 'recording printer presence failed'))
  }
}

export const printerPresence = (app: ServiceApplication) => {
  const presence = new PrinterPresence(app.get('postgresqlClient'), app.get('logger'), durationMs(app.get('printing').onlineWindow))
  app.set('printerPresence', presence)
  runPeriodically(app, 'printer presence refresh', Math.max(1_000, presence.windowMs / 3), () => presence.refresh())
}

declare module '@marketmesh/shared' {
  interface ServiceConfiguration {
    printerPresence: PrinterPresence
  }
}
