import { getValidator, StringEnum, Type, type Static } from '@feathersjs/typebox'
import { queryValidator } from '@marketmesh/shared'
import { printTransports } from '../../printing/print-job'

export const printerSchema = Type.Object(
  {
    /** The device's id (as user-service's `GET /devices` shows it). */
    id: Type.String({ format: 'uuid' }),
    name: Type.String(),
    /** Streaming now (on any instance), or polled CloudPRNT within `printing.onlineWindow`. */
    online: Type.Boolean(),
    lastSeenAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    /** How it was last connected; null: never yet. */
    transport: Type.Union([StringEnum([...printTransports]), Type.Null()])
  },
  { $id: 'Printer', additionalProperties: false }
)
export type Printer = Static<typeof printerSchema>

// A shop has a handful of devices: paging, no filters.
const Count = Type.Integer({ minimum: 0, maximum: 2_147_483_647 })
export const printerQuerySchema = Type.Object({ $limit: Type.Optional(Count), $skip: Type.Optional(Count) }, { additionalProperties: false })
export type PrinterQuery = Static<typeof printerQuerySchema>
export const printerQueryValidator = getValidator(printerQuerySchema, queryValidator)
