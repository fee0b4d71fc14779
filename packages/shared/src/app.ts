import { feathers, type HookContext, type NextFunction } from '@feathersjs/feathers'
import { bodyParser, cors, koa, rest } from '@feathersjs/koa'
import type { TObject } from '@feathersjs/typebox'
import { statelessAuthentication } from './authentication'
import { createKnex, ensureDatabase, migrateLatest, type MigrationList } from './database'
import type { ServiceApplication } from './declarations'
import { EventBus } from './events/bus'
import { inputGuards } from './guards'
import { eventBackboneMigrations } from './events/migrations'
import { HEALTH_PATHS, healthRoutes } from './health'
import { REQUEST_ID_HEADER } from './events/topology'
import { errorHandler, requestId } from './http'
import { answersPath } from './http-paths'
import { createLogger } from './logger'
import { createMetricsRegistry, httpMetrics } from './metrics'
import { baseEnvironment, loadSettings } from './settings'

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
  /** Koa middleware of the service's own, ahead of the REST middleware (e.g. `httpCaching`). */
  middleware?: (app: ServiceApplication) => void
  /** Registers the service's event handlers. */
  events?: (app: ServiceApplication) => void
}

/** Creates the service's database if it is missing and applies its pending migrations. */
export const prepareDatabase = async (app: ServiceApplication) => {
  const { connection } = app.get('postgresql')
  await ensureDatabase(connection)
  return migrateLatest(app.get('postgresqlClient'), app.get('migrations'), connection)
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
  app.set('migrations', { ...eventBackboneMigrations, ...options.migrations })
  app.set('events', new EventBus({ service: options.name, settings, db, logger, registry: metrics }))

  app.use(requestId())
  app.use(httpMetrics(app, metrics, logger))
  app.use(errorHandler(logger))
  app.use(healthRoutes(app))
  for (const path of HEALTH_PATHS) answersPath(app, path)
  // Browsers may read these: the request id, and whether a response is an idempotent replay.
  app.use(cors({ exposeHeaders: [REQUEST_ID_HEADER, 'Idempotent-Replayed'] }))
  app.use(bodyParser({ jsonLimit: '1mb', multipart: false }))
  options.middleware?.(app)
  app.configure(rest())

  app.hooks({
    setup: [
      async (_context: HookContext, next: NextFunction) => {
        const applied = await prepareDatabase(app)
        if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated')
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
  return app
}
