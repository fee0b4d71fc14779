import { setImmediate as nextTurn } from 'node:timers/promises'
import pg from 'pg'
import { CoalescingRunner } from '@marketmesh/events'
import { type Knex, type Logger } from '@marketmesh/shared'
import { NOTIFICATIONS_CHANNEL } from '../log/append'
import { purgedThrough } from '../log/purge'
import { frameOf } from './frame'
import type { StreamHub } from './hub'

// Small pages, with a turn of the event loop after each: the sockets of clients that keep up
// drain between pages, so a burst in the log is not mistaken for a client that stopped reading.
const PAGE = 100
// The wake-ups are NOTIFY; the poll only covers a LISTEN connection that is down or reconnecting.
const POLL_INTERVAL_MS = 2_000
const RECONNECT_DELAY_MS = 1_000

export interface LogTailOptions {
  db: Knex
  connection: string
  hub: StreamHub
  logger: Logger
  /** Also LISTENed on; each payload goes to `onControl` (revocations, disabled users). */
  controlChannel: string
  onControl: (payload: string) => void
  /** Once LISTEN is in place (again): catches up on the control notices it may have missed. */
  onListening: () => Promise<void>
}

/**
 * Each instance reads every new notification of the log once, in id order, and hands it to its
 * streams: PostgreSQL NOTIFY wakes it, the log is the source of truth (a missed wake-up is only
 * a later read). Ids become visible in order (log/append.ts), so reading `id > position` never
 * passes over one.
 */
export class LogTail {
  private listener?: pg.Client
  private timer?: NodeJS.Timeout
  private reconnect?: NodeJS.Timeout
  private stopped = false
  private readonly runner = new CoalescingRunner(() =>
    this.readOn().catch((error: Error) => this.options.logger.warn({ err: error.message }, 'reading the notification log failed; will retry'))
  )

  constructor(private readonly options: LogTailOptions) {}

  async start() {
    const { db, hub } = this.options
    const [{ last }] = await db('notifications').max({ last: 'id' })
    // Past the purge horizon even when the purge left the log empty: a resync's id must not be behind it.
    hub.position = Math.max(Number(last ?? 0), await purgedThrough(db))
    await this.listen()
    this.timer = setInterval(() => this.runner.wake(), POLL_INTERVAL_MS)
    this.runner.start()
  }

  async stop() {
    this.stopped = true
    clearInterval(this.timer)
    clearTimeout(this.reconnect)
    await this.runner.stop()
    await this.listener?.end().catch(() => undefined)
  }

  private async listen() {
    const { connection, controlChannel, onControl, logger } = this.options
    const client = new pg.Client({ connectionString: connection, application_name: 'notify-service log tail' })
    // A failed connect can reject, emit `error` and emit `end`: one reconnect per lost client, or
    // every failure while PostgreSQL refuses connections would double the attempts.
    let lost = false
    const retry = (error: Error) => {
      if (lost) return
      lost = true
      client.removeAllListeners()
      client.end().catch(() => undefined)
      // The end of a stop is no loss.
      if (this.stopped) return
      logger.warn({ err: error.message }, 'notification listener lost; reconnecting')
      this.reconnect = setTimeout(() => void this.listen(), RECONNECT_DELAY_MS)
    }
    client.on('error', retry)
    client.on('end', () => retry(new Error('connection ended')))
    client.on('notification', ({ channel, payload }) => {
      if (channel === controlChannel) onControl(payload ?? '')
      else this.runner.wake()
    })
    try {
      await client.connect()
      await client.query(`LISTEN ${pg.escapeIdentifier(NOTIFICATIONS_CHANNEL)}; LISTEN ${pg.escapeIdentifier(controlChannel)}`)
    } catch (error) {
      retry(error as Error)
      return
    }
    this.listener = client
    // What was committed while no one listened.
    this.runner.wake()
    // Not caught up is not listening: the reconnect tries again.
    await this.options.onListening().catch(retry)
  }

  private async readOn() {
    const { db, hub } = this.options
    for (;;) {
      const rows = await db('notifications')
        .where('id', '>', hub.position)
        .orderBy('id')
        .limit(PAGE)
        .select('id', 'type', 'data', 'userId', 'sellerId', 'everyone', 'devices', 'traceparent')
      for (const row of rows) {
        const id = Number(row.id)
        hub.publish({ ...row, id }, frameOf({ id, type: row.type, data: row.data }))
      }
      if (rows.length < PAGE || this.runner.isStopped) return
      await nextTurn()
    }
  }
}
