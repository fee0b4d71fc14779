import { MethodNotAllowed } from '@feathersjs/errors'
import type { Id, NullableId, Params } from '@feathersjs/feathers'
import { KnexService, type KnexAdapterOptions, type KnexAdapterParams } from '@feathersjs/knex'
import type { ServiceApplication, ServiceHookContext } from '@marketmesh/shared'
import type { Device, DeviceData, DevicePatch, DeviceQuery } from './devices.schema'

export type { Device, DeviceData, DevicePatch, DeviceQuery }

export interface DeviceParams extends KnexAdapterParams<DeviceQuery> {
  /** The token of the device being created, between the hook that issues it and the resolver that hashes it. */
  deviceToken?: string
}

export class DeviceService<ServiceParams extends Params = DeviceParams> extends KnexService<Device, DeviceData, ServiceParams, DevicePatch> {
  /** Revoking keeps the row (which seller had which device, until when); its token stops working everywhere. */
  override async remove(id: Id, params?: ServiceParams): Promise<Device>
  override async remove(id: null, params?: ServiceParams): Promise<Device[]>
  override async remove(id: NullableId, params?: ServiceParams): Promise<Device | Device[]> {
    if (id === null) throw new MethodNotAllowed('Revoke one device at a time')
    return this._patch(id, { revokedAt: new Date().toISOString() }, params)
  }
}

export type DeviceHookContext = ServiceHookContext<DeviceService>

export const getOptions = (app: ServiceApplication): KnexAdapterOptions => ({
  paginate: { default: 20, max: 100 },
  Model: app.get('postgresqlClient'),
  name: 'devices'
})
