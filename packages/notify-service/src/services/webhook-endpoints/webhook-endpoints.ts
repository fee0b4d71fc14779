import { hooks as schemaHooks } from '@feathersjs/schema'
import { authenticated, inTransaction, noQueryValidator, requireRole, uuidIds, type ServiceApplication } from '@marketmesh/shared'
import { webhookDeliveryMetrics } from '../../webhooks/metrics'
import { webhookDeliveryPurge } from '../../webhooks/purge'
import { SecretBox } from '../../webhooks/secret-box'
import { webhookSender } from '../../webhooks/sender'
import {
  WebhookDeliveryRetryService,
  WebhookDeliveryService,
  WebhookEndpointService,
  WebhookSecretRotationService,
  WebhookTestService
} from './webhook-endpoints.class'
import {
  webhookActionDataValidator,
  webhookDeliveryQueryValidator,
  webhookEndpointDataValidator,
  webhookEndpointPatchValidator,
  webhookEndpointQueryValidator
} from './webhook-endpoints.schema'
import {
  webhookDeliveryPath,
  webhookDeliveryRetryPath,
  webhookEndpointMethods,
  webhookEndpointPath,
  webhookSecretRotationPath,
  webhookTestPath
} from './webhook-endpoints.shared'

export * from './webhook-endpoints.class'
export * from './webhook-endpoints.schema'

// Sellers for their shop, admins for the platform; buyers and devices have none.
const owners = [authenticated(), requireRole('seller', 'admin')]
const writers = [...owners, inTransaction()]

export const webhookEndpoint = (app: ServiceApplication) => {
  const secrets = new SecretBox(app.get('webhooks').secretKeys)
  app.use(webhookEndpointPath, new WebhookEndpointService(app, secrets), { methods: [...webhookEndpointMethods], events: [] })
  app.service(webhookEndpointPath).hooks({
    around: { find: owners, get: owners, create: writers, patch: writers, remove: writers },
    before: {
      all: [uuidIds(), schemaHooks.validateQuery(webhookEndpointQueryValidator)],
      create: [schemaHooks.validateData(webhookEndpointDataValidator)],
      patch: [schemaHooks.validateData(webhookEndpointPatchValidator)]
    }
  })
  const action = {
    around: { create: writers },
    before: { create: [schemaHooks.validateQuery(noQueryValidator), schemaHooks.validateData(webhookActionDataValidator)] }
  }
  app.use(webhookSecretRotationPath, new WebhookSecretRotationService(secrets), { methods: ['create'], events: [] })
  app.service(webhookSecretRotationPath).hooks(action)
  app.use(webhookTestPath, new WebhookTestService(), { methods: ['create'], events: [] })
  app.service(webhookTestPath).hooks(action)
  app.use(webhookDeliveryRetryPath, new WebhookDeliveryRetryService(), { methods: ['create'], events: [] })
  app.service(webhookDeliveryRetryPath).hooks(action)
  app.use(webhookDeliveryPath, new WebhookDeliveryService(app), { methods: ['find'], events: [] })
  app.service(webhookDeliveryPath).hooks({ around: { find: owners }, before: { find: [schemaHooks.validateQuery(webhookDeliveryQueryValidator)] } })
  webhookSender(app, secrets)
  app.configure(webhookDeliveryPurge)
  app.configure(webhookDeliveryMetrics)
}

declare module '@marketmesh/shared' {
  interface ServiceTypes {
    [webhookEndpointPath]: WebhookEndpointService
    [webhookSecretRotationPath]: WebhookSecretRotationService
    [webhookTestPath]: WebhookTestService
    [webhookDeliveryPath]: WebhookDeliveryService
    [webhookDeliveryRetryPath]: WebhookDeliveryRetryService
  }
}
