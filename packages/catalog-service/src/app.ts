import { createServiceApp, packageRoot, rateLimits } from '@marketmesh/shared'
import { migrations } from '../migrations'
import { api } from './openapi'
import { catalogHttpCaching } from './cache'
import { environment, settingsSchema } from './configuration'
import { events } from './events'
import { media } from './media/media'
import { services } from './services'

export const createApp = (overrides?: Record<string, unknown>) =>
  createServiceApp({
    name: 'catalog-service',
    root: packageRoot(__dirname),
    settingsSchema,
    environment,
    overrides,
    migrations,
    api,
    middleware: catalogHttpCaching,
    services: (app) => app.configure(rateLimits).configure(media).configure(services),
    events,
    // Every reservation and its release update the product's stock.
    churningTables: ['products']
  })
