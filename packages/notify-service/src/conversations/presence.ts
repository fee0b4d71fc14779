import { randomUUID } from 'node:crypto'
import { runPeriodically, type Knex, type Logger, type Principal, type ServiceApplication } from '@marketmesh/shared'

// An instance that has not confirmed its streams within this has died: its rows count for nothing.
const ONLINE_WINDOW_SECONDS = 60
const REFRESH_INTERVAL_MS = 20_000

/**
 * Whether a user has a stream open on any instance, for the conversation mails. Each instance
 * keeps a row per user it streams to (`streaming`), written when the user's first stream there
 * opens and its last one ends, and confirmed a few times per window while open. Its writes go one
 * after the other, so a close never overtakes the open before it.
 */
export class UserPresence {
  private readonly streams = new Map<string, number>()
  private readonly instance = randomUUID()
  private writes: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly db: Knex,
    private readonly logger: Logger
  ) {}

  /** A stream opened here. Devices are not users. */
  streamOpened(principal: Principal) {
    if (principal.role === 'device') return
    const { id } = principal
    const open = this.streams.get(id) ?? 0
    this.streams.set(id, open + 1)
    if (open === 0) this.record(id, true)
  }

  /** A stream `streamOpened` counted has ended. */
  streamClosed(principal: Principal) {
    if (principal.role === 'device') return
    const { id } = principal
    const left = (this.streams.get(id) ?? 1) - 1
    if (left > 0) return void this.streams.set(id, left)
    this.streams.delete(id)
    this.record(id, false)
  }

  /** The users streaming here are still there; rows of instances long gone are deleted. */
  async refresh() {
    await this.db('user_presence')
      .whereRaw(`"lastSeenAt" < now() - make_interval(secs => ?)`, [ONLINE_WINDOW_SECONDS * 10])
      .delete()
    if (this.streams.size === 0) return
    await this.db('user_presence')
      .where({ instance: this.instance })
      // One array parameter, not one per user: an instance may hold tens of thousands of streams.
      .whereRaw('"userId" = ANY(?::uuid[])', [[...this.streams.keys()]])
      .update({ lastSeenAt: this.db.fn.now() })
  }

  private record(userId: string, streaming: boolean) {
    const row = { userId, instance: this.instance, streaming, lastSeenAt: this.db.fn.now() }
    this.writes = this.writes
      .then(() => this.db('user_presence').insert(row).onConflict(['userId', 'instance']).merge())
      // Presence only spares a mail: a failed write is logged, and the next one mends it.
      .catch((error: Error) => this.logger.warn({ err: error.message }, 'recording user presence failed'))
  }
}

/** Whether `userId` has a stream open on an instance that confirmed it lately. */
export const isStreaming = async (db: Knex, userId: string) =>
  Boolean(
    await db('user_presence')
      .first('userId')
      .where({ userId, streaming: true })
      .whereRaw(`"lastSeenAt" > now() - make_interval(secs => ?)`, [ONLINE_WINDOW_SECONDS])
  )

export const userPresence = (app: ServiceApplication) => {
  const presence = new UserPresence(app.get('postgresqlClient'), app.get('logger'))
  app.set('userPresence', presence)
  runPeriodically(app, 'user presence refresh', REFRESH_INTERVAL_MS, () => presence.refresh())
}

declare module '@marketmesh/shared' {
  interface ServiceConfiguration {
    userPresence: UserPresence
  }
}
