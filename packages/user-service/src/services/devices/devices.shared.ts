import type { Params } from '@feathersjs/feathers'
import type { ClientApplication } from '../../client'
import type { Device, DeviceData, DeviceQuery, DeviceService } from './devices.class'

export type { Device, DeviceData, DeviceQuery }

export type DeviceClientService = Pick<DeviceService<Params<DeviceQuery>>, (typeof deviceMethods)[number]>

export const devicePath = 'devices'

export const deviceMethods = ['find', 'get', 'create', 'remove'] as const

export const deviceClient = (client: ClientApplication) => {
  const connection = client.get('connection')
  client.use(devicePath, connection.service(devicePath), { methods: [...deviceMethods] })
}

declare module '../../client' {
  interface ServiceTypes {
    [devicePath]: DeviceClientService
  }
}
