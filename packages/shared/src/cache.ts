import { createHash, randomBytes } from 'node:crypto'
import type { HookContext, NextFunction } from '@feathersjs/feathers'
import type { Middleware } from '@feathersjs/koa'
import { StringEnum, Type, type Static, type TObject } from '@feathersjs/typebox'
import { Redis } from 'ioredis'
import { Counter, type Registry } from 'prom-client'
import type { Knex } from './database'
import type { ServiceApplication } from './declarations'
import { beforeAnswering } from '@marketmesh/events'
import type { Logger } from './logger'
import { redactUrl } from '@marketmesh/events'

/**
 * A read-through cache in Redis that is never a source of truth: every entry can be loaded again
 * from PostgreSQL, and losing any of them (flush, restart, eviction, Redis down) costs misses only.
 *
 * Invalidation is by tags with generations. Every tag (`product:<id>`, `listings`) has a
 * generation in Redis, a value never used before; an entry is stored with the generations of its
 * tags as they were when its load began, and is a hit only while they are all still current.
 * Dropping a tag gives it a new generation. So a reader that loaded old data before a write and
 * stores it after the write's invalidation stores it under the old generations, which no later
 * reader accepts. Generations are fresh random values, not counters: after a flush or an eviction
 * of a generation, a counter would start again and meet entries of its earlier life.
 *
 * A read is one MGET of the tags' generations and the entry (a native command: no script runs in
 * Redis per read); the entry holds the answer as it is sent, its JSON text and ETag, so that a hit
 * neither parses, serializes nor hashes.
 */

/** Settings of the read cache, for a service's settings schema. */
export const readCacheSettingsProperties = {
  redis: Type.Object({
    url: Type.String({ pattern: '^rediss?://' }),
    /** A command not answered in this time counts as Redis down: the read goes to PostgreSQL. */
    commandTimeoutMs: Type.Integer({ minimum: 1 })
  }),
  cache: Type.Object({
    /** `off`: no Redis at all, every read from PostgreSQL. */
    mode: StringEnum(['on', 'off']),
    /**
     * Every key starts with it, so that several deployments (or test runs) can share one Redis. By
     * default `<service name>:<database name>`: a service on another database never meets its entries.
     */
    keyPrefix: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.:-]+$' }))
  })
}

export const readCacheEnvironment = {
  REDIS_URL: 'redis.url',
  REDIS_COMMAND_TIMEOUT_MS: 'redis.commandTimeoutMs',
  CACHE: 'cache.mode',
  CACHE_KEY_PREFIX: 'cache.keyPrefix'
}

export interface ReadCacheOptions {
  mode: 'on' | 'off'
  url: string
  commandTimeoutMs: number
  keyPrefix: string
  logger: Logger
  registry: Registry
}

export interface CacheEntryOptions {
  /** What the entry is (a metrics label): `product`, `search`... */
  kind: string
  ttlSeconds: number
  /** Dropping any of these drops the entry. */
  tags: readonly string[]
}

/**
 * Generations expire too, so that Redis does not keep one per product for ever: an expired one is
 * replaced by a fresh value, which costs the misses of its entries and nothing else.
 */
const TAG_TTL_SECONDS = 24 * 3600

/** Every entry also carries this tag: dropping it drops everything (after an invalidation was lost). */
const ALL = '*'

/** An answer as it is sent: its JSON text, and its ETag (a hash of the text, made once when it was loaded). */
export interface CachedAnswer {
  body: string
  etag: string
}

/** The answer of `body`, with its ETag. */
export const answerOf = (body: string): CachedAnswer => ({ body, etag: `"${createHash('sha1').update(body).digest('base64url')}"` })

const NEWLINE = 10
const DOT = 46

/**
 * An entry as stored: `<generation>.<generation>…\n<etag>\n<body>`. The answer when the
 * generations it was loaded under are `generations`; undefined when any has changed since.
 */
const storedAnswer = (stored: string, generations: string[]): CachedAnswer | undefined => {
  let at = 0
  for (let i = 0; i < generations.length; i++) {
    const generation = generations[i]
    if (!stored.startsWith(generation, at)) return undefined
    at += generation.length
    if (stored.charCodeAt(at++) !== (i === generations.length - 1 ? NEWLINE : DOT)) return undefined
  }
  const etagEnd = stored.indexOf('\n', at)
  return etagEnd < 0 ? undefined : { etag: stored.slice(at, etagEnd), body: stored.slice(etagEnd + 1) }
}

type Outcome = 'hits' | 'misses' | 'loads'

/** See the top of this file. `cached` never fails for the cache's sake: Redis down, it loads from PostgreSQL. */
export class ReadCache {
  private readonly redis?: Redis
  private readonly inFlight = new Map<string, Promise<CachedAnswer>>()
  // Fresh generations: this process's random part and a counter.
  private readonly processPart = randomBytes(6).toString('base64url')
  private counter = 0
  private outage = false
  /** An invalidation failed: nothing is read from Redis until every entry is dropped. */
  private lostInvalidation = false
  private readonly allTagKey: string
  private readonly metrics: Record<Outcome | 'invalidations' | 'errors', Counter<string>>
  /** The metrics' children by kind: prom-client would hash the labels on every increment. */
  private readonly counters = new Map<string, Record<Outcome, Counter.Internal>>()

  constructor(private readonly options: ReadCacheOptions) {
    const counter = (name: string, help: string, labelNames: string[] = ['kind']) =>
      new Counter({ name, help, labelNames, registers: [options.registry] })
    this.metrics = {
      hits: counter('cache_hits_total', 'Reads answered from the Redis cache'),
      misses: counter('cache_misses_total', 'Reads not found in the Redis cache'),
      loads: counter('cache_loads_total', 'Loads from the database after misses (concurrent misses of one entry load once)'),
      invalidations: counter('cache_invalidations_total', 'Tags dropped after writes', []),
      errors: counter('cache_redis_errors_total', 'Redis commands that failed or timed out (the read went to the database)', [])
    }
    this.allTagKey = this.tagKey(ALL)
    if (options.mode === 'off') return
    this.redis = new Redis(options.url, {
      commandTimeout: options.commandTimeoutMs,
      // Down is down: a command fails at once instead of waiting for a reconnection.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      // Commands issued in one turn of the event loop go out in one write (one batch in flight at a time).
      enableAutoPipelining: true,
      connectTimeout: 2_000,
      retryStrategy: (times) => Math.min(times * 200, 2_000)
    })
    // Errors are counted where a command fails; connection errors repeat on every retry.
    this.redis.on('error', () => undefined)
    this.redis.on('ready', () => void this.recover())
  }

  get enabled() {
    return this.redis !== undefined
  }

  private get usable() {
    return this.redis !== undefined && !this.outage && !this.lostInvalidation
  }

  /**
   * The value under `key` for the current generations of `options.tags`, or `load()`'s, stored
   * for `ttlSeconds`. Concurrent misses of one entry in this process share one `load()`. The value
   * must survive JSON (dates come back as strings).
   */
  async cached<T>(key: string, options: CacheEntryOptions, load: () => Promise<T>): Promise<T> {
    if (!this.usable) return load()
    return JSON.parse((await this.cachedAnswer(key, options, load)).body) as T
  }

  /** `cached`, as the answer stored: its JSON text and ETag, sent as they are. */
  async cachedAnswer(key: string, options: CacheEntryOptions, load: () => Promise<unknown>): Promise<CachedAnswer> {
    const redis = this.redis
    if (!redis || !this.usable) return answerOf(JSON.stringify(await load()))
    const { tags, kind } = options
    const keys = [this.allTagKey]
    for (const tag of tags) keys.push(this.tagKey(tag))
    const entryKey = `${this.options.keyPrefix}:entry:${key}`
    keys.push(entryKey)
    let generations: string[]
    try {
      const values = await redis.mget(keys)
      const stored = values.pop()!
      if (values.every((generation) => generation !== null)) {
        generations = values as string[]
        const answer = stored === null ? undefined : storedAnswer(stored, generations)
        if (answer) {
          this.counted(kind).hits.inc()
          return answer
        }
      } else generations = await this.createGenerations(redis, keys, values)
    } catch (error) {
      this.failed(error)
      return answerOf(JSON.stringify(await load()))
    }
    this.counted(kind).misses.inc()
    // Readers under other generations (before or after a write) never share a load.
    const flightKey = `${entryKey}@${generations.join('.')}`
    let flight = this.inFlight.get(flightKey)
    if (!flight) {
      flight = this.loadAndStore(redis, entryKey, generations, options, load).finally(() => this.inFlight.delete(flightKey))
      this.inFlight.set(flightKey, flight)
    }
    return flight
  }

  /** Drops every entry carrying one of `tags` once `trx` commits, before the write answers. */
  dropAfterCommit(trx: Knex.Transaction, tags: Iterable<string>) {
    if (!this.redis) return
    const pending = pendingTags.get(trx)
    if (pending) {
      for (const tag of tags) pending.add(tag)
      return
    }
    const fresh = new Set(tags)
    pendingTags.set(trx, fresh)
    beforeAnswering(trx, () => this.drop(fresh))
  }

  /** Drops every entry carrying one of `tags` now (for writes outside a transaction, after they are done). */
  async drop(tags: Iterable<string>) {
    const redis = this.redis
    const list = [...tags]
    if (!redis || list.length === 0) return
    try {
      await Promise.all(list.map((tag) => redis.set(this.tagKey(tag), this.freshGeneration(), 'EX', TAG_TTL_SECONDS)))
      this.metrics.invalidations.inc(list.length)
    } catch (error) {
      // Entries of these tags may now be stale in Redis: this instance reads nothing from it until
      // it has dropped everything (on reconnection, or the next invalidation that gets through).
      this.lostInvalidation = true
      this.failed(error)
      // Its own cause named: a logger bound to a caller's context may carry an unrelated `err`.
      this.options.logger.error(
        { err: (error as Error).message, tags: list.slice(0, 20) },
        'cache invalidation failed: reading from the database until Redis drops everything'
      )
    }
  }

  async close() {
    await this.redis?.quit().catch(() => this.redis?.disconnect())
  }

  private async loadAndStore(redis: Redis, entryKey: string, generations: string[], options: CacheEntryOptions, load: () => Promise<unknown>) {
    this.counted(options.kind).loads.inc()
    const answer = answerOf(JSON.stringify(await load()))
    try {
      await redis.set(entryKey, `${generations.join('.')}\n${answer.etag}\n${answer.body}`, 'EX', options.ttlSeconds)
    } catch (error) {
      this.failed(error)
    }
    return answer
  }

  /** The generations of the tags `keys` (ending with the entry's key), each missing one set to a fresh value. */
  private async createGenerations(redis: Redis, keys: string[], values: (string | null)[]) {
    return Promise.all(
      values.map(async (generation, i) => {
        if (generation !== null) return generation
        const fresh = this.freshGeneration()
        // Another reader may set it first: then its value is the generation (SET … NX GET answers it).
        const existing = await redis.set(keys[i], fresh, 'EX', TAG_TTL_SECONDS, 'NX', 'GET')
        return existing ?? fresh
      })
    )
  }

  private tagKey(tag: string) {
    return `${this.options.keyPrefix}:tag:${tag}`
  }

  private counted(kind: string) {
    let counters = this.counters.get(kind)
    if (!counters) {
      counters = { hits: this.metrics.hits.labels(kind), misses: this.metrics.misses.labels(kind), loads: this.metrics.loads.labels(kind) }
      this.counters.set(kind, counters)
    }
    return counters
  }

  private freshGeneration() {
    return `${this.processPart}${(this.counter++).toString(36)}`
  }

  /** Counts the error; logs it once per outage. */
  private failed(error: unknown) {
    this.metrics.errors.inc()
    if (this.outage) return
    // A command that timed out says Redis is not answering: like a closed connection, read from the database.
    this.outage = true
    this.options.logger.warn(
      { err: error, redis: redactUrl(this.options.url) },
      'Redis is not answering: reads go to the database until it is back (logged once per outage)'
    )
    // Redis may be up with only a command lost: try again shortly rather than waiting for a reconnection.
    setTimeout(() => void this.probe(), 1_000).unref()
  }

  private async probe() {
    if (!this.outage || !this.redis) return
    try {
      await this.redis.ping()
      await this.recover()
    } catch {
      setTimeout(() => void this.probe(), 1_000).unref()
    }
  }

  /** Redis answers again: after a lost invalidation, drop everything first. */
  private async recover() {
    const redis = this.redis!
    if (this.lostInvalidation) {
      try {
        await redis.set(this.allTagKey, this.freshGeneration(), 'EX', TAG_TTL_SECONDS)
        this.metrics.invalidations.inc()
        this.lostInvalidation = false
      } catch (error) {
        this.failed(error)
        return
      }
    }
    if (this.outage) this.options.logger.info({ redis: redactUrl(this.options.url) }, 'Redis answers again: reads use the cache')
    this.outage = false
  }
}

const pendingTags = new WeakMap<Knex.Transaction, Set<string>>()

/** The app's read cache from its `redis` and `cache` settings (see readCacheSettingsProperties), closed on teardown. */
export const readCache = (app: ServiceApplication) => {
  const { redis, cache } = app.settings as unknown as Static<TObject<typeof readCacheSettingsProperties>>
  const database = new URL(app.get('postgresql').connection).pathname.slice(1)
  const readCache = new ReadCache({
    mode: cache.mode,
    url: redis.url,
    commandTimeoutMs: redis.commandTimeoutMs,
    keyPrefix: cache.keyPrefix ?? `${app.get('name')}:${database}`,
    logger: app.get('logger'),
    registry: app.get('metrics')
  })
  app.set('readCache', readCache)
  app.hooks({
    teardown: [
      async (_context: HookContext, next: NextFunction) => {
        await next()
        await readCache.close()
      }
    ]
  })
}

export interface HttpCachePolicy {
  /** The paths it applies to. */
  path: RegExp
  /** `Cache-Control` of an anonymous answer; an authenticated one is `private, no-cache`. */
  anonymous: string
}

/**
 * HTTP caching of GET answers: an `ETag` (a hash of the body), `If-None-Match` answered with 304,
 * and `Cache-Control` by policy (see `sendAnswer`). Registered ahead of the REST middleware (see
 * ServiceAppOptions.middleware).
 */
export const httpCaching =
  (policies: HttpCachePolicy[]): Middleware =>
  async (ctx, next) => {
    await next()
    if ((ctx.method !== 'GET' && ctx.method !== 'HEAD') || ctx.status !== 200 || ctx.body == null) return
    const policy = policies.find(({ path }) => path.test(ctx.path))
    if (!policy) return
    sendAnswer(ctx, answerOf(typeof ctx.body === 'string' ? ctx.body : JSON.stringify(ctx.body)), policy.anonymous)
  }

/**
 * Sends `answer` as JSON with its `ETag`, or 304 when `If-None-Match` names it, and with
 * `Cache-Control: anonymous` for a request without credentials. An answer to a request with
 * credentials is `private`, and public answers vary by `Authorization`, so a shared cache never
 * hands one caller's view to another.
 */
export const sendAnswer = (ctx: Parameters<Middleware>[0], answer: CachedAnswer, anonymous: string) => {
  ctx.type = 'application/json'
  ctx.body = answer.body
  ctx.set('ETag', answer.etag)
  ctx.vary('Authorization')
  ctx.set('Cache-Control', ctx.get('authorization') ? 'private, no-cache' : anonymous)
  if (matchesNoneMatch(ctx.get('if-none-match'), answer.etag)) ctx.status = 304
}

/**
 * Whether `If-None-Match` names `etag` (weak comparison, RFC 9110 13.1.2). Not koa's `ctx.fresh`:
 * it ignores validators sent with `Cache-Control: no-cache`, which fetch() adds to every request
 * carrying `If-None-Match`; that directive is for caches on the way, not for the origin.
 */
const matchesNoneMatch = (header: string, etag: string) =>
  header !== '' && (header.trim() === '*' || header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag))

declare module './declarations' {
  interface ServiceConfiguration {
    /** Set by `readCache`, in the services that cache reads. */
    readCache?: ReadCache
  }
}
