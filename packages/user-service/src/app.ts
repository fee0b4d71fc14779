import { createServiceApp, packageRoot, rateLimits } from '@marketmesh/shared'
import { migrations } from '../migrations'
import { api } from './openapi'
import { authentication } from './authentication'
import { environment, settingsSchema } from './configuration'
import { events } from './events'
import { housekeeping } from './housekeeping'
import { services } from './services'

export const createApp = (overrides?: Record<string, unknown>) =>
  createServiceApp({
    name: 'user-service',
    root: packageRoot(__dirname),
    settingsSchema,
    environment,
    overrides,
    migrations,
    api,
    authentication,
    services: (app) => app.configure(rateLimits).configure(housekeeping).configure(services),
    events
  })

// The package's public types; importing them also brings the services' ServiceTypes declarations to its users (the CLI).
export type { Device, DeviceService } from './services/devices/devices'
export type { User, UserData, UserPatch, UserService } from './services/users/users'
