import { resolve } from '@feathersjs/schema'
import { getValidator, Type, type Static } from '@feathersjs/typebox'
import { dataValidator, hashDeviceToken, principalOf, publicQuerySyntax, queryValidator, SingleLineText } from '@marketmesh/shared'
import { isoTimestamp } from '../../resolvers'
import type { DeviceHookContext } from './devices.class'

const Timestamp = Type.String({ format: 'date-time' })

/** A seller's appliance (a receipt printer). Revoked devices are kept but no longer listed. */
export const deviceSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    sellerId: Type.String({ format: 'uuid' }),
    name: SingleLineText({ minLength: 1, maxLength: 100 }),
    tokenHash: Type.Optional(Type.String()),
    /** Only in the answer to `POST /devices`: the device's credential, shown this once. */
    token: Type.Optional(Type.String()),
    createdAt: Timestamp,
    revokedAt: Type.Union([Timestamp, Type.Null()])
  },
  { $id: 'Device', additionalProperties: false }
)
export type Device = Static<typeof deviceSchema>

export const deviceResolver = resolve<Device, DeviceHookContext>({
  // Set only while the device is being created: the answer to POST /devices is the one place it shows.
  token: async (_value, _device, context) => context.params.deviceToken,
  createdAt: isoTimestamp,
  revokedAt: isoTimestamp
})

export const deviceExternalResolver = resolve<Device, DeviceHookContext>({
  tokenHash: async () => undefined
})

export const deviceDataSchema = Type.Pick(deviceSchema, ['name'], { $id: 'DeviceData', additionalProperties: false })
export type DeviceData = Static<typeof deviceDataSchema> & Partial<Pick<Device, 'sellerId' | 'tokenHash'>>
export const deviceDataValidator = getValidator(deviceDataSchema, dataValidator)

export const deviceDataResolver = resolve<DeviceData, DeviceHookContext>({
  sellerId: async (_value, _device, context) => principalOf(context).sellerId,
  tokenHash: async (_value, _device, context) => hashDeviceToken(context.params.deviceToken!)
})

export type DevicePatch = Partial<Pick<Device, 'revokedAt'>>

export const deviceQueryProperties = Type.Pick(deviceSchema, ['id', 'sellerId', 'name', 'createdAt'])
// Neither the token nor its hash.
export const deviceQuerySchema = publicQuerySyntax(deviceQueryProperties, ['id', 'sellerId', 'name', 'createdAt', 'revokedAt'])
export type DeviceQuery = Static<typeof deviceQuerySchema>
export const deviceQueryValidator = getValidator(deviceQuerySchema, queryValidator)
