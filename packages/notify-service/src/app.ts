import { createServiceApp, deviceAwareAuthentication, packageRoot } from '@marketmesh/shared'
import { migrations } from '../migrations'
import { api } from './openapi'
import { environment, settingsSchema } from './configuration'
import { events } from './events'
import { services } from './services'
import { isDisabledUser } from './users'

export const createApp = (overrides?: Record<string, unknown>) =>
  createServiceApp({
    name: 'notify-service',
    root: packageRoot(__dirname),
    settingsSchema,
    environment,
    overrides,
    migrations,
    api,
    // A disabled seller's devices are refused like revoked ones.
    authentication: (app) => deviceAwareAuthentication(app, { isDisabled: (sellerId) => isDisabledUser(app.get('postgresqlClient'), sellerId) }),
    services,
    events,
    // Every order's webhook deliveries and print jobs are claimed and settled; every stream refreshes its user's presence.
    churningTables: ['webhook_deliveries', 'print_jobs', 'user_presence']
  })
