import { feathers, type HookContext, type NextFunction } from '@feathersjs/feathers'
import { bodyParser, cors, koa, rest } from '@feathersjs/koa'
import type { TObject } from '@feathersjs/typebox'
import { EventBus, eventBackboneMigrations, REQUEST_ID_HEADER } from '@marketmesh/events'
import { statelessAuthentication } from './authentication'
import { createKnex, ensureDatabase, migrateLatest, migrationStatus, type MigrationList } from './database'
import type { ServiceApplication } from './declarations'
import { inputGuards } from './guards'
import { HEALTH_PATHS, healthRoutes } from './health'
import { errorHandler, requestId } from './http'
import { answersPath } from './http-paths'
import { createLogger } from './logger'
import { createMetricsRegistry, httpMetrics } from './metrics'
import { servesOpenApi, type ApiDescription } from './openapi'
import { baseEnvironment, loadSettings, SettingsError } from './settings'
import { vacuumWhileRunning } from './vacuum'

export interface ServiceAppOptions {
  /** e.g. `catalog-service`: logs, metrics, the events' source and the queue name. */
  name: string
  /** The service's package folder (its `config/` is read from there). */
  root: string
  settingsSchema: TObject
  environment?: typeof baseEnvironment
  /** Settings applied last, over files and environment; tests use them. */
  overrides?: Record<string, unknown>
  migrations: MigrationList
  /** How callers are authenticated; by default the stateless JWT verification. */
  authentication?: (app: ServiceApplication) => void
  services: (app: ServiceApplication) => void
  /**
   * Koa middleware of the service's own (e.g. `httpCaching`), after request ids, metrics, errors and
   * CORS, ahead of the body parser and the REST middleware: an answer it gives costs no more.
   */
  middleware?: (app: ServiceApplication) => void
  /** Registers the service's event handlers. */
  events?: (app: ServiceApplication) => void
  /**
   * Path prefixes whose handlers verify a signature over the request body as it arrived (a
   * provider's webhooks): their request keeps the body's bytes, `rawBodyOf(ctx.request)`.
   */
  rawBodyPaths?: string[]
  /** Its API as the OpenAPI document served at `GET /openapi.json` describes it (see openapi.ts). */
  api?: ApiDescription
  /** The tables it updates with every order: vacuumed every minute once their dead rows pile up (see vacuum.ts). */
  churningTables?: readonly string[]
}

/** The bytes a JSON request body arrived as, on a path of `rawBodyPaths` (koa-body keeps them as `rawBody`); undefined elsewhere. */
export const rawBodyOf = (request: object): Buffer | undefined => {
  const raw = (request as { rawBody?: unknown }).rawBody
  return typeof raw === 'string' ? Buffer.from(raw, 'utf8') : Buffer.isBuffer(raw) ? raw : undefined
}

/** A service's migrations: the event backbone's tables first, then its own. */
export const serviceMigrations = (own: MigrationList): MigrationList => ({ ...eventBackboneMigrations, ...own })

/** Creates the service's database if it is missing and applies its pending migrations. */
export const prepareDatabase = async (app: ServiceApplication) => {
  const { connection } = app.get('postgresql')
  await ensureDatabase(connection)
  return migrateLatest(app.get('postgresqlClient'), app.get('migrations'), connection)
}

/** With MIGRATE_AT_START=false: the schema must already be current, or the start stops here, saying what to run. */
const requireMigrated = async (app: ServiceApplication) => {
  const migrations = app.get('migrations')
  const { pending } = await migrationStatus(app.get('postgresqlClient'), migrations).catch((error: { code?: string }) => {
    // No database yet: nothing was ever applied.
    if (error.code === '3D000') return { pending: Object.keys(migrations).sort() }
    throw error
  })
  if (pending.length === 0) return
  const name = app.get('name')
  throw new SettingsError(
    `${pending.length} migration(s) pending (${pending.join(', ')}): run \`marketmesh migrate up --service ${name}\` first, or set MIGRATE_AT_START=true`
  )
}

/**
 * A marketmesh service: koa(feathers()) with request ids, logging, metrics (served on the ops port,
 * see `listen`), errors as Feathers errors, /health /ready, REST, authentication, its database (created and migrated
 * on setup) and the event bus (started on setup, stopped on teardown).
 */
export const createServiceApp = (options: ServiceAppOptions): ServiceApplication => {
  const settings = loadSettings({
    schema: options.settingsSchema,
    root: options.root,
    environment: options.environment,
    overrides: { name: options.name, ...options.overrides }
  })
  const app: ServiceApplication = koa(feathers())
  Object.assign(app.settings, settings)
  app.proxy = settings.trustProxy
  // Koa reads the client address this many entries from the right of X-Forwarded-For; with 0 (its
  // default) it takes the leftmost, which any client can write.
  app.maxIpsCount = settings.trustProxyHops
  app.configure(inputGuards)

  const logger = createLogger({ name: options.name, level: settings.logLevel })
  const metrics = createMetricsRegistry(options.name)
  const db = createKnex(settings.postgresql, logger)
  app.set('logger', logger)
  app.set('metrics', metrics)
  app.set('postgresqlClient', db)
  app.set('migrations', serviceMigrations(options.migrations))
  app.set('events', new EventBus({ service: options.name, settings, db, logger, registry: metrics }))

  app.use(requestId())
  app.use(httpMetrics(app, metrics, logger))
  app.use(errorHandler(logger))
  app.use(healthRoutes(app))
  for (const path of HEALTH_PATHS) answersPath(app, path)
  if (options.api) servesOpenApi(app, options.api)
  // Browsers may read these: the request id, and whether a response is an idempotent replay.
  app.use(cors({ exposeHeaders: [REQUEST_ID_HEADER, 'Idempotent-Replayed'] }))
  options.middleware?.(app)
  const parseBody = bodyParser({ jsonLimit: '1mb', multipart: false })
  const parseBodyKeepingBytes = bodyParser({ jsonLimit: '1mb', multipart: false, includeUnparsed: true })
  const rawBodyPaths = options.rawBodyPaths ?? []
  app.use((ctx, next) => (rawBodyPaths.some((path) => ctx.path.startsWith(path)) ? parseBodyKeepingBytes : parseBody)(ctx, next))
  app.configure(rest())

  app.hooks({
    setup: [
      async (_context: HookContext, next: NextFunction) => {
        if (settings.migrateAtStart) {
          const applied = await prepareDatabase(app)
          if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated')
        } else await requireMigrated(app)
        await app.get('events').start()
        await next()
      }
    ],
    teardown: [
      async (_context: HookContext, next: NextFunction) => {
        await next()
        await app.get('events').stop()
        await db.destroy()
      }
    ]
  })

  ;(options.authentication ?? statelessAuthentication)(app)
  app.configure(options.services)
  options.events?.(app)
  if (options.churningTables) vacuumWhileRunning(app, options.churningTables)
  return app
}
