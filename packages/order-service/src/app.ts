import { createServiceApp, packageRoot, rateLimits } from '@marketmesh/shared'
import { migrations } from '../migrations'
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
    services: (app) => app.configure(rateLimits).configure(services),
    events,
    rawBodyPaths: [PAYMENT_WEBHOOKS_PATH]
  })
