import { getValidator, Type } from '@feathersjs/typebox'
import { dataValidator, queryValidator } from '@marketmesh/shared'

// Printers send more than these (uid, mac, status in Star ASB, peripherals): what is not read is let through.

/** The poll's body. `statusCode` is the only field every printer sends: "200 OK" (often URL-encoded) while it can print. */
export const pollSchema = Type.Object({
  statusCode: Type.String({ minLength: 1, maxLength: 200 }),
  printingInProgress: Type.Optional(Type.Boolean()),
  printerMAC: Type.Optional(Type.String())
})
export const pollValidator = getValidator(pollSchema, dataValidator)

/** `GET ?type=&token=`: the job handed out with `jobToken`, in one of the offered media types. */
export const jobRequestSchema = Type.Object({
  type: Type.String({ minLength: 1, maxLength: 100 }),
  token: Type.String({ format: 'uuid' })
})
export const jobRequestValidator = getValidator(jobRequestSchema, queryValidator)

/** `DELETE ?code=&token=`: `OK` (older firmware: `200 OK`) when printed, else the printer's error code. */
export const confirmationSchema = Type.Object({
  code: Type.String({ minLength: 1, maxLength: 200 }),
  token: Type.String({ format: 'uuid' })
})
export const confirmationValidator = getValidator(confirmationSchema, queryValidator)
