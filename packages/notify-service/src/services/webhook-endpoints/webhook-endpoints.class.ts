import { NotFound } from '@feathersjs/errors'
import type { Id } from '@feathersjs/feathers'
import type { KnexAdapterParams } from '@feathersjs/knex'
import { isUuid, type Principal, type ServiceApplication } from '@marketmesh/shared'
import { listDeliveries, retryDelivery, schedulePing } from '../../webhooks/deliveries'
import {
  createEndpoint,
  endpointView,
  listOwnEndpoints,
  ownEndpoint,
  removeEndpoint,
  rotateSecret,
  updateEndpoint,
  type WebhookEndpoint
} from '../../webhooks/endpoints'
import type { SecretBox } from '../../webhooks/secret-box'
import type { WebhookDeliveryQuery, WebhookEndpointData, WebhookEndpointPatch } from './webhook-endpoints.schema'

export type WebhookParams = KnexAdapterParams & { route?: { endpointId?: string; deliveryId?: string } }

const callerOf = (params: WebhookParams): Principal => params.principal!

const trxOf = (params: WebhookParams, method: string) => {
  const trx = params.transaction?.trx
  if (!trx) throw new Error(`webhook-endpoints.${method} runs in the transaction of inTransaction()`)
  return trx
}

/** A route's id: anything but a UUID names no record of anyone's. */
const routeId = (params: WebhookParams, name: 'endpointId' | 'deliveryId') => {
  const id = params.route?.[name]
  if (!isUuid(id)) throw new NotFound(`No record found for id '${id}'`)
  return id!
}

/** The caller's own webhook endpoints (webhooks/endpoints.ts holds the rules). */
export class WebhookEndpointService {
  constructor(
    private readonly app: ServiceApplication,
    private readonly secrets: SecretBox
  ) {}

  private get settings() {
    return this.app.get('webhooks')
  }

  async find(params: WebhookParams): Promise<WebhookEndpoint[]> {
    return (await listOwnEndpoints(this.app.get('postgresqlClient'), callerOf(params))).map(endpointView)
  }

  async get(id: Id, params: WebhookParams): Promise<WebhookEndpoint> {
    return endpointView(await ownEndpoint(this.app.get('postgresqlClient'), callerOf(params), String(id)))
  }

  async create(data: WebhookEndpointData, params: WebhookParams) {
    return createEndpoint(trxOf(params, 'create'), callerOf(params), data, {
      policy: this.settings,
      maxPerOwner: this.settings.maxEndpointsPerOwner,
      secrets: this.secrets
    })
  }

  async patch(id: Id, data: WebhookEndpointPatch, params: WebhookParams) {
    return updateEndpoint(trxOf(params, 'patch'), callerOf(params), String(id), data, this.settings)
  }

  async remove(id: Id, params: WebhookParams) {
    return removeEndpoint(trxOf(params, 'remove'), callerOf(params), String(id))
  }
}

/** `POST /webhook-endpoints/:endpointId/rotate-secret`: the new secret, shown once; the old one signs too for 24 hours. */
export class WebhookSecretRotationService {
  constructor(private readonly secrets: SecretBox) {}

  async create(_data: unknown, params: WebhookParams) {
    return rotateSecret(trxOf(params, 'rotate-secret'), callerOf(params), routeId(params, 'endpointId'), this.secrets)
  }
}

/** `POST /webhook-endpoints/:endpointId/test`: a `ping` delivery, answered as the delivery log shows it. */
export class WebhookTestService {
  async create(_data: unknown, params: WebhookParams) {
    return schedulePing(trxOf(params, 'test'), callerOf(params), routeId(params, 'endpointId'))
  }
}

/** `GET /webhook-endpoints/:endpointId/deliveries`: newest first, `?status=` filters. */
export class WebhookDeliveryService {
  constructor(private readonly app: ServiceApplication) {}

  async find(params: WebhookParams & { query?: WebhookDeliveryQuery }) {
    const { status, $limit, $skip = 0 } = params.query ?? {}
    const paginate = this.app.get('paginate')
    const limit = Math.min($limit ?? paginate.default, paginate.max)
    return listDeliveries(this.app.get('postgresqlClient'), callerOf(params), routeId(params, 'endpointId'), { status, limit, skip: $skip })
  }
}

/** `POST /webhook-endpoints/:endpointId/deliveries/:deliveryId/retry`: a failed delivery sent again now. */
export class WebhookDeliveryRetryService {
  async create(_data: unknown, params: WebhookParams) {
    return retryDelivery(trxOf(params, 'retry'), callerOf(params), routeId(params, 'endpointId'), routeId(params, 'deliveryId'))
  }
}
