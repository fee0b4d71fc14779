import { createServiceApp, packageRoot } from '@marketmesh/shared'
import { migrations } from '../migrations'
import { catalogHttpCaching } from './cache'
import { environment, settingsSchema } from './configuration'
import { events } from './events'
import { services } from './services'

export const createApp = (overrides?: Record<string, unknown>) =>
  createServiceApp({
    name: 'catalog-service',
    root: packageRoot(__dirname),
    settingsSchema,
    environment,
    overrides,
    migrations,
    middleware: catalogHttpCaching,
    services,
    events
  })
