import type { HookContext, NextFunction } from '@feathersjs/feathers'
import { hooks as schemaHooks } from '@feathersjs/schema'
import {
  authenticated,
  createDeviceToken,
  emitEvent,
  inTransaction,
  principalOf,
  requireRole,
  type ServiceApplication
} from '@marketmesh/shared'
import { DeviceService, getOptions, type Device } from './devices.class'
import {
  deviceDataResolver,
  deviceDataValidator,
  deviceExternalResolver,
  deviceQueryValidator,
  deviceResolver
} from './devices.schema'
import { deviceMethods, devicePath } from './devices.shared'

export * from './devices.class'
export * from './devices.schema'

/** A seller sees and revokes only their own devices (an admin any); revoked ones are gone from the API. */
const onlyOwnActiveDevices = (context: HookContext) => {
  const principal = context.params.provider ? principalOf(context) : undefined
  const own = principal && principal.role !== 'admin' ? { sellerId: principal.sellerId } : {}
  context.params.query = { ...context.params.query, ...own, revokedAt: null }
}

/** Creates the device's token, which the data resolver stores as a hash and the answer shows this once. */
const issueDeviceToken = async (context: HookContext, next: NextFunction) => {
  const token = createDeviceToken()
  context.params = { ...context.params, deviceToken: token }
  await next()
  context.result = { ...context.result, token }
}

export const devices = (app: ServiceApplication) => {
  app.use(devicePath, new DeviceService(getOptions(app)), { methods: [...deviceMethods], events: [] })
  app.service(devicePath).hooks({
    around: {
      all: [authenticated(), schemaHooks.resolveExternal(deviceExternalResolver), schemaHooks.resolveResult(deviceResolver)],
      create: [requireRole('seller'), issueDeviceToken, inTransaction()],
      remove: [requireRole('seller', 'admin'), inTransaction()]
    },
    before: {
      all: [schemaHooks.validateQuery(deviceQueryValidator)],
      find: [requireRole('seller', 'admin'), onlyOwnActiveDevices],
      get: [requireRole('seller', 'admin'), onlyOwnActiveDevices],
      create: [schemaHooks.validateData(deviceDataValidator), schemaHooks.resolveData(deviceDataResolver)],
      remove: [onlyOwnActiveDevices]
    },
    after: {
      create: [
        emitEvent('device.registered', (device: Device) => ({
          deviceId: device.id,
          sellerId: device.sellerId,
          name: device.name,
          tokenHash: device.tokenHash!
        }))
      ],
      remove: [emitEvent('device.revoked', (device: Device) => ({ deviceId: device.id, sellerId: device.sellerId }))]
    }
  })
}

declare module '@marketmesh/shared' {
  interface ServiceTypes {
    [devicePath]: DeviceService
  }
}
