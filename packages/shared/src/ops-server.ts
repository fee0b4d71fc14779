import { createServer, type Server, type ServerResponse } from 'node:http'
import { errors } from '@feathersjs/errors'
import type { ServiceApplication } from './declarations'

/** The path Prometheus scrapes, on the ops port only. */
export const METRICS_PATH = '/metrics'

// Above any service's port: `port + 1000` leaves room for `npm start --instances`' steps of 100.
const OPS_PORT_OFFSET = 1000

/**
 * The ops port of a service listening on `port`: `opsPort` (OPS_PORT) when set; otherwise `port` +
 * 1000, or any free port (0) when the public one is any free port too (as in the tests).
 */
export const opsPortOf = (app: ServiceApplication, port: number) => app.get('opsPort') ?? (port === 0 ? 0 : port + OPS_PORT_OFFSET)

const answer = (response: ServerResponse, status: number, type: string, body: string) =>
  response.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) }).end(body)

/**
 * The ops port's server: `GET /metrics` (Prometheus text, the app's registry) and nothing else. The
 * public port does not answer /metrics, so what the metrics tell (routes, volumes, queue depths) is
 * read only by what reaches the ops port: the scraper, not the internet.
 */
export const createOpsServer = (app: ServiceApplication): Server =>
  createServer(async (request, response) => {
    if (request.method !== 'GET' || new URL(request.url ?? '/', 'http://ops').pathname !== METRICS_PATH) {
      return answer(response, 404, 'application/json', JSON.stringify(new errors.NotFound(`Only GET ${METRICS_PATH} on the ops port`).toJSON()))
    }
    const registry = app.get('metrics')
    try {
      answer(response, 200, registry.contentType, await registry.metrics())
    } catch (error) {
      app.get('logger').error({ err: error }, 'metrics could not be collected')
      answer(response, 500, 'application/json', JSON.stringify(new errors.GeneralError('Internal server error').toJSON()))
    }
  })
