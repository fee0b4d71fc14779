import type { Middleware } from '@feathersjs/koa'
import type { ServiceApplication } from './declarations'
import { redactUrl } from '@marketmesh/events'

const withTimeout = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms).unref())])

/** Whether the database and the broker answer now, with the reason for each that does not. */
export const readiness = async (app: ServiceApplication) => {
  const checks: Record<'database' | 'broker', string> = { database: 'ok', broker: 'ok' }
  try {
    await withTimeout(app.get('postgresqlClient').raw('SELECT 1'), 2_000)
  } catch (error) {
    checks.database = `PostgreSQL unreachable at ${redactUrl(app.get('postgresql').connection)}: ${(error as Error).message}`
  }
  if (!app.get('events').isConnected()) {
    checks.broker = `RabbitMQ unreachable at ${redactUrl(app.get('amqp').url)}`
  }
  return { ready: checks.database === 'ok' && checks.broker === 'ok', checks }
}

/** The paths every service answers besides its Feathers services (`/metrics` is on the ops port, see ops-server.ts). */
export const HEALTH_PATHS = ['/health', '/ready'] as const

/** GET /health (the process lives), /ready (its database and broker answer): public, for probes and load balancers. */
export const healthRoutes =
  (app: ServiceApplication): Middleware =>
  async (ctx, next) => {
    if (ctx.method !== 'GET') return next()
    switch (ctx.path) {
      case '/health':
        ctx.body = { status: 'ok', service: app.get('name') }
        return
      case '/ready': {
        const { ready, checks } = await readiness(app)
        ctx.status = ready ? 200 : 503
        ctx.body = { status: ready ? 'ready' : 'unavailable', service: app.get('name'), checks }
        return
      }
      default:
        return next()
    }
  }
