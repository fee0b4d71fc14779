import { TooManyRequests } from '@feathersjs/errors'
import type { HookContext } from '@feathersjs/feathers'
import type { Middleware } from '@feathersjs/koa'
import { purgeInBatches } from '@marketmesh/events'
import type { Knex, Migration } from './database'
import type { ServiceApplication } from './declarations'
import { runPeriodically } from './periodic'

const PURGE_INTERVAL_MS = 15 * 60_000

/**
 * The table RateLimits counts in, for a service's own migration to create: one row per key (a
 * login email, a client IP, a seller) counting the hits of the window that began with its first
 * hit and ends at `expires_at`. A hit after that starts the key's next window in the same row;
 * rows nobody hit again are purged.
 */
export const rateLimitsTable: Migration = {
  async up(knex) {
    await knex.raw(`
      CREATE TABLE rate_limits (
        key text PRIMARY KEY,
        hits integer NOT NULL CHECK (hits >= 0),
        expires_at timestamptz NOT NULL
      )
    `)
    await knex.raw('CREATE INDEX rate_limits_expires_at ON rate_limits (expires_at)')
  },
  async down(knex) {
    await knex.raw('DROP TABLE rate_limits')
  }
}

/** At most `max` hits on `key` per window of `windowMs`, the window starting with the key's first hit. */
export interface Limit {
  key: string
  max: number
  windowMs: number
}

/** A hit counted on a key, in the window it was counted in (`window` is its end, exactly as stored). */
export interface Hit {
  key: string
  window: string
}

export type Taken = { refused: false; hits: Hit[] } | { refused: true; retryAfterSeconds: number }

interface HitRow {
  key: string
  hits: number
  window: string
  retry_after: number
}

/**
 * Rate-limit counters in PostgreSQL (`rate_limits`), so that N instances enforce one limit. Each key
 * has a fixed window that starts with its first hit (as rate-limiter-flexible's PostgreSQL store
 * does): hits are counted with one atomic upsert, and the window ends `windowMs` later for good.
 */
export class RateLimits {
  constructor(private readonly db: Knex) {}

  /**
   * Counts one hit on every limit, in one statement. If that takes one of them over its maximum,
   * the hits are taken back at once (a refused request counts for nothing) and the answer is the
   * wait until the fullest window ends.
   */
  async take(limits: Limit[]): Promise<Taken> {
    // Rows are locked in key order: two requests over the same keys wait for each other, never deadlock.
    const sorted = [...limits].sort((a, b) => (a.key < b.key ? -1 : 1))
    const { rows } = await this.db.raw<{ rows: HitRow[] }>(
      `INSERT INTO rate_limits AS r (key, hits, expires_at)
         SELECT key, 1, now() + make_interval(secs => window_ms / 1000)
         FROM unnest(?::text[], ?::float8[]) WITH ORDINALITY AS l(key, window_ms, n) ORDER BY n
       ON CONFLICT (key) DO UPDATE SET
         hits = CASE WHEN r.expires_at <= now() THEN 1 ELSE r.hits + 1 END,
         expires_at = CASE WHEN r.expires_at <= now() THEN excluded.expires_at ELSE r.expires_at END
       RETURNING key, hits, expires_at::text AS window, ceil(extract(epoch FROM r.expires_at - now()))::integer AS retry_after`,
      [sorted.map((limit) => limit.key), sorted.map((limit) => limit.windowMs)]
    )
    const hits = rows.map(({ key, window }) => ({ key, window }))
    const maxOf = new Map(limits.map((limit) => [limit.key, limit.max]))
    const over = rows.filter((row) => row.hits > maxOf.get(row.key)!)
    if (over.length === 0) return { refused: false, hits }
    await this.giveBack(hits)
    return { refused: true, retryAfterSeconds: Math.max(1, ...over.map((row) => row.retry_after)) }
  }

  /** Takes back hits that turned out not to count; a hit whose window has ended meanwhile is left alone. */
  async giveBack(hits: Hit[]) {
    if (hits.length === 0) return
    await this.db.raw(
      `UPDATE rate_limits AS r SET hits = r.hits - 1
       FROM unnest(?::text[], ?::text[]) AS h(key, window_end)
       WHERE r.key = h.key AND r.expires_at = h.window_end::timestamptz AND r.hits > 0`,
      [hits.map((hit) => hit.key), hits.map((hit) => hit.window)]
    )
  }

  /** Forgets a key's hits (an email's failed logins, once the right password is given). */
  async clear(key: string) {
    await this.db('rate_limits').where({ key }).delete()
  }

  /** Deletes the rows of windows that have ended, a few thousand per statement. */
  purge() {
    return purgeInBatches(this.db, 'rate_limits', 'expires_at <= now()', [])
  }
}

/** Refuses the call with 429 and a Retry-After header (sent by `rateLimitedHttp`). */
export const refuseTooMany = (context: HookContext, retryAfterSeconds: number, message: string): never => {
  context.http = { ...context.http, headers: { ...context.http?.headers, 'Retry-After': String(retryAfterSeconds) } }
  throw new TooManyRequests(`${message}; try again in ${retryAfterSeconds} seconds`, { retryAfter: retryAfterSeconds })
}

/** The app's rate-limit counters, on its database: `app.get('rateLimits')`, their ended windows purged every 15 minutes. */
export const rateLimits = (app: ServiceApplication) => {
  const limits = new RateLimits(app.get('postgresqlClient'))
  app.set('rateLimits', limits)
  runPeriodically(app, 'rate limit purge', PURGE_INTERVAL_MS, async () => {
    const purged = await limits.purge()
    if (purged > 0) app.get('logger').info({ purged }, 'purged ended rate-limit windows')
  })
}

declare module './declarations' {
  interface ServiceConfiguration {
    rateLimits: RateLimits
  }
}

declare module '@feathersjs/feathers' {
  interface Params {
    /** The client's address as Koa sees it (behind a proxy, only with the app's `proxy` trust on). */
    ip?: string
  }
}

/**
 * Koa middleware of the rate-limited endpoints: hands the client IP to the hooks, and sends the
 * headers a hook set for an error response too (Retry-After with 429), which the generic error
 * handler does not.
 */
export const rateLimitedHttp = (): Middleware => async (ctx, next) => {
  ctx.feathers = { ...ctx.feathers, ip: ctx.ip }
  try {
    await next()
  } catch (error) {
    ctx.set(ctx.hook?.http?.headers ?? {})
    throw error
  }
}
