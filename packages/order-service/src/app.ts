import { createServiceApp, packageRoot, rateLimits } from '@marketmesh/shared'
import { migrations } from '../migrations'
import { api } from './openapi'
import { environment, settingsSchema } from './configuration'
import { events } from './events'
import { services } from './services'
import { PAYMENT_WEBHOOKS_PATH } from './services/payment-webhooks/payment-webhooks'

export const createApp = (overrides?: Record<string, unknown>) =>
  createServiceApp({
    name: 'order-service',
    root: packageRoot(__dirname),
    settingsSchema,
    environment,
    overrides,
    migrations,
    api,
    services: (app) => app.configure(rateLimits).configure(services),
    events,
    rawBodyPaths: [PAYMENT_WEBHOOKS_PATH],
    // Every checkout updates its orders, its payment and its idempotency key several times.
    churningTables: ['orders', 'payments', 'idempotency_keys']
  })
