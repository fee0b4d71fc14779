import { runPeriodically, type Knex, type Logger, type Principal, type ServiceApplication } from '@marketmesh/shared'

// A user whose streams no instance has refreshed within this is away (an instance that died refreshes nothing).
const ONLINE_WINDOW_SECONDS = 60
const REFRESH_INTERVAL_MS = 20_000

/**
 * Whether a user has a stream open on any instance, for the conversation mails: a stream marks
 * its user seen when it opens and closed when the user's last stream on this instance ends; while
 * open, every instance refreshes its streams' users a few times per window.
 */
export class UserPresence {
  private readonly streams = new Map<string, number>()

  constructor(
    private readonly db: Knex,
    private readonly logger: Logger
  ) {}

  /** A stream opened here; returns what to call when it ends. Devices are not users. */
  streamOpened(principal: Principal) {
    if (principal.role === 'device') return () => undefined
    const { id } = principal
    this.streams.set(id, (this.streams.get(id) ?? 0) + 1)
    this.record(this.db('user_presence').insert({ userId: id, lastSeenAt: this.db.fn.now(), streamClosedAt: null }).onConflict('userId').merge())
    return () => {
      const left = (this.streams.get(id) ?? 1) - 1
      if (left > 0) return void this.streams.set(id, left)
      this.streams.delete(id)
      this.record(this.db('user_presence').where({ userId: id }).update({ lastSeenAt: this.db.fn.now(), streamClosedAt: this.db.fn.now() }))
    }
  }

  /** The users streaming here are still there. */
  async refresh() {
    if (this.streams.size === 0) return
    await this.db('user_presence')
      .whereIn('userId', [...this.streams.keys()])
      .update({ lastSeenAt: this.db.fn.now() })
  }

  private record(write: PromiseLike<unknown>) {
    Promise.resolve(write).catch((error: Error) => this.logger.warn({ err: error.message }, 'recording user presence failed'))
  }
}

/** Whether `userId` has a stream open somewhere (a stream elsewhere refreshes past this instance's close). */
export const isStreaming = async (db: Knex, userId: string) =>
  Boolean(
    await db('user_presence')
      .first('userId')
      .where({ userId })
      .whereRaw(`"lastSeenAt" > now() - make_interval(secs => ?)`, [ONLINE_WINDOW_SECONDS])
      .where((open) => open.whereNull('streamClosedAt').orWhereRaw('"lastSeenAt" > "streamClosedAt"'))
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
