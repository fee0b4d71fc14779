import type { Middleware } from '@feathersjs/koa'
import { trace } from '@opentelemetry/api'
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { Knex } from './database'
import type { Logger } from './logger'
import type { ServiceApplication } from './declarations'
import { redactRequestUrl } from '@marketmesh/events'

/** One registry per app, so several apps in one test process keep their metrics apart. */
export const createMetricsRegistry = (service: string) => {
  const registry = new Registry()
  registry.setDefaultLabels({ service })
  collectDefaultMetrics({ register: registry })
  return registry
}

/** Records every request's duration by method, route and status, logs one line for it and names its span. */
export const httpMetrics = (app: ServiceApplication, registry: Registry, logger: Logger): Middleware => {
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry]
  })
  const servicePaths = new WeakMap<object, string>()
  app.mixins.push((service, path) => servicePaths.set(service, `/${path}`))

  // The paths the app answers with middleware of its own (`answersPath`), known once it is configured.
  let ownPaths: Set<string> | undefined
  // A bounded set of route labels: the service's path pattern, never the raw URL.
  const routeOf = (ctx: Parameters<Middleware>[0]) => {
    // Set by middleware that answers a service's route itself (catalog-service's cached product reads).
    if (ctx.state.route) return ctx.state.route as string
    if (ctx.lookup) {
      const path = servicePaths.get(ctx.lookup.service) ?? 'unknown'
      return ctx.lookup.params.__id !== undefined ? `${path}/:id` : path
    }
    ownPaths ??= new Set(app.get('httpPaths') ?? [])
    return ownPaths.has(ctx.path) ? ctx.path : 'unmatched'
  }

  // One labelled child per method, route and status: prom-client would hash the labels on every observe.
  const children = new Map<string, ReturnType<typeof duration.labels>>()
  const durationOf = (method: string, route: string, status: number) => {
    const key = `${method} ${route} ${status}`
    let child = children.get(key)
    if (!child) children.set(key, (child = duration.labels(method, route, String(status))))
    return child
  }

  return async (ctx, next) => {
    const started = process.hrtime.bigint()
    try {
      await next()
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9
      const route = routeOf(ctx)
      durationOf(ctx.method, route, ctx.status).observe(seconds)
      // The request's server span (when tracing) is named by the route, as its metric is labelled.
      trace.getActiveSpan()?.updateName(`${ctx.method} ${route}`).setAttributes({ 'http.route': route, 'marketmesh.request_id': ctx.state.requestId })
      if (logger.isLevelEnabled('info'))
        logger.info(
          {
            requestId: ctx.state.requestId,
            method: ctx.method,
            url: redactRequestUrl(ctx.url),
            status: ctx.status,
            durationMs: Math.round(seconds * 1e4) / 10
          },
          'request'
        )
    }
  }
}

/**
 * A gauge of how many rows of `table` are in each `status`, read from the database at each scrape
 * (`orders{status}`, `payouts{status}`, …). `statuses` limits it to those and reports 0 for one
 * with no row; without it, every status present. An unreachable database shows in /ready: the
 * scrape still answers, with the last counts.
 */
export const statusCountGauge = (
  app: ServiceApplication,
  { name, help, table, statuses }: { name: string; help: string; table: string; statuses?: readonly string[] }
) => {
  const db: Knex = app.get('postgresqlClient')
  return new Gauge({
    name,
    help,
    labelNames: ['status'],
    registers: [app.get('metrics')],
    async collect() {
      let rows: Array<{ status: string; count: number }>
      try {
        const query = db(table).groupBy('status').select('status', db.raw('count(*)::int AS count'))
        rows = await (statuses ? query.whereIn('status', [...statuses]) : query)
      } catch {
        return
      }
      if (!statuses) this.reset()
      for (const status of statuses ?? rows.map((row) => row.status)) this.set({ status }, rows.find((row) => row.status === status)?.count ?? 0)
    }
  })
}
