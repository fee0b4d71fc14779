import { hooks as schemaHooks } from '@feathersjs/schema'
import { authenticated, emitEvent, inTransaction, requireRole, stableOrder, uuidIds, type ServiceApplication } from '@marketmesh/shared'
import { DeviceService, getOptions, type Device } from './devices.class'
import { deviceDataResolver, deviceDataValidator, deviceExternalResolver, deviceQueryValidator, deviceResolver } from './devices.schema'
import { deviceMethods, devicePath } from './devices.shared'
import { issueDeviceToken, onlyOwnActiveDevices } from './hooks'

export * from './devices.class'
export * from './devices.schema'

export const devices = (app: ServiceApplication) => {
  app.use(devicePath, new DeviceService(getOptions(app)), { methods: [...deviceMethods], events: [] })
  app.service(devicePath).hooks({
    around: {
      all: [authenticated(), schemaHooks.resolveExternal(deviceExternalResolver), schemaHooks.resolveResult(deviceResolver)],
      create: [requireRole('seller'), inTransaction()],
      remove: [requireRole('seller', 'admin'), inTransaction()]
    },
    before: {
      all: [schemaHooks.validateQuery(deviceQueryValidator), uuidIds()],
      find: [requireRole('seller', 'admin'), onlyOwnActiveDevices, stableOrder()],
      get: [requireRole('seller', 'admin'), onlyOwnActiveDevices],
      create: [issueDeviceToken, schemaHooks.validateData(deviceDataValidator), schemaHooks.resolveData(deviceDataResolver)],
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
