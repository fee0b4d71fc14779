import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { prepareDatabase } from './app'
import type { ServiceApplication } from './declarations'
import { answerUnparsableRequests } from './http'
import { createOpsServer, opsPortOf } from './ops-server'
import { requestListener } from './open-responses'
import { redactUrl } from '@marketmesh/events'
import { SettingsError } from './settings'
import { stopTracing } from './tracing'

const listenOn = (server: Server, port: number, host: string) =>
  new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve())
  })

/**
 * Sets the app up (database, migrations, event bus), then opens its HTTP port and its ops port
 * (`opsPortOf`; the ops server is `app.get('opsServer')`, and closes when the HTTP server has).
 * Requests go to the app's Koa middleware (`requestListener`).
 */
export const listen = async (app: ServiceApplication, port: number = app.get('port'), host: string = app.get('host')) => {
  const server = createServer(requestListener(app))
  answerUnparsableRequests(server)
  const ops = createOpsServer(app)
  await app.setup(server)
  await listenOn(ops, opsPortOf(app, port), host)
  try {
    await listenOn(server, port, host)
  } catch (error) {
    ops.close()
    throw error
  }
  app.set('opsServer', ops)
  server.once('close', () => {
    ops.close()
    // A scraper's kept-alive connection must not hold the process.
    ops.closeAllConnections()
  })
  return server
}

/**
 * Stops accepting, lets requests in flight finish, and closes kept-alive connections as they idle.
 * Emits `closing` first: responses that never finish by themselves (SSE streams) end on it.
 */
export const closeServer = (server: Server) =>
  new Promise<void>((resolve) => {
    server.emit('closing')
    server.on('request', (_request, response) => response.setHeader('Connection', 'close'))
    const sweep = setInterval(() => server.closeIdleConnections(), 100)
    server.close(() => {
      clearInterval(sweep)
      resolve()
    })
    server.closeIdleConnections()
  })

const HOW_TO_START_POSTGRES =
  'start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` or `docker compose up -d postgres`'

/** One line a person can act on, instead of a stack trace, for what stops a start. */
export const describeStartupError = (error: unknown, app?: ServiceApplication) => {
  if (error instanceof SettingsError) return error.message
  const { code, message } = error as NodeJS.ErrnoException
  const connectionCodes = ['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'EAI_AGAIN', '57P03', '28P01', '28000']
  if (app && code && connectionCodes.includes(code)) {
    return `PostgreSQL is not reachable at ${redactUrl(app.get('postgresql').connection)} (${message}): ${HOW_TO_START_POSTGRES}.`
  }
  if (code === 'EADDRINUSE' && app) {
    const { port } = error as NodeJS.ErrnoException & { port?: number }
    return port === app.get('port')
      ? `Port ${port} is already in use (set PORT to use another).`
      : `Ops port ${port} (GET /metrics) is already in use (set OPS_PORT to use another).`
  }
  return (error as Error)?.stack ?? String(error)
}

/** The whole life of a service process: start, serve, and shut down gracefully on SIGTERM/SIGINT. */
export const runService = async (createApp: () => ServiceApplication) => {
  let app: ServiceApplication | undefined
  let server: Server
  try {
    app = createApp()
    server = await listen(app)
  } catch (error) {
    process.stderr.write(`${app?.get('name') ?? 'marketmesh'}: ${describeStartupError(error, app)}\n`)
    process.exit(1)
  }
  const logger = app.get('logger')
  const opsPort = (app.get('opsServer')!.address() as AddressInfo).port
  logger.info({ port: (server.address() as AddressInfo).port, opsPort }, `${app.get('name')} listening`)

  let stopping = false
  const shutdown = async (signal: NodeJS.Signals) => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down')
    setTimeout(() => {
      logger.error('shutdown took too long; exiting')
      process.exit(1)
    }, app.get('shutdownTimeoutMs')).unref()
    try {
      await closeServer(server)
      await app.teardown()
      await stopTracing()
      process.exit(0)
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed')
      process.exit(1)
    }
  }
  process.on('SIGTERM', shutdown)
  process.on('SIGINT', shutdown)
}

const BROKER_DECLARE_TIMEOUT_MS = 15_000

/** `npm run migrate`: creates the database if missing, applies pending migrations and declares the broker topology, then exits. */
export const runMigrations = async (createApp: () => ServiceApplication) => {
  let app: ServiceApplication | undefined
  try {
    app = createApp()
    const applied = await prepareDatabase(app)
    process.stdout.write(`${app.get('name')}: ${applied.length ? `applied ${applied.join(', ')}` : 'already up to date'}\n`)
    await app.get('postgresqlClient').destroy()
    // Every consumer's queue and bindings exist from now on, so no event published before a consumer first runs is lost.
    await app.get('events').declareTopology(BROKER_DECLARE_TIMEOUT_MS)
    process.stdout.write(`${app.get('name')}: declared every consumer's queue on RabbitMQ\n`)
  } catch (error) {
    process.stderr.write(`${app?.get('name') ?? 'marketmesh'}: ${describeStartupError(error, app)}\n`)
    process.exit(1)
  }
}
