import { BadRequest } from '@feathersjs/errors'
import { Type, type Static } from '@feathersjs/typebox'
import { dataValidator, queryValidator } from '@marketmesh/shared'

// Printers send more than these (uid, mac, status in Star ASB, peripherals): what is not read is let through.

/** The poll's body. `statusCode` is the only field every printer sends: "200 OK" (often URL-encoded) while it can print. */
export const pollSchema = Type.Object({
  statusCode: Type.String({ minLength: 1, maxLength: 200 }),
  printingInProgress: Type.Optional(Type.Boolean()),
  printerMAC: Type.Optional(Type.String())
})
export const pollCheck = dataValidator.compile<Static<typeof pollSchema>>(pollSchema)

/** `GET ?type=&token=`: the job handed out with `jobToken`, in one of the offered media types. */
export const jobRequestSchema = Type.Object({
  type: Type.String({ minLength: 1, maxLength: 100 }),
  token: Type.String({ format: 'uuid' })
})
export const jobRequestCheck = queryValidator.compile<Static<typeof jobRequestSchema>>(jobRequestSchema)

/** `DELETE ?code=&token=`: `OK` (older firmware: `200 OK`) when printed, else the printer's error code. */
export const confirmationSchema = Type.Object({
  code: Type.String({ minLength: 1, maxLength: 200 }),
  token: Type.String({ format: 'uuid' })
})
export const confirmationCheck = queryValidator.compile<Static<typeof confirmationSchema>>(confirmationSchema)

/** `value` as `check` takes it, or a 400 naming the fields (Koa middleware has no schema hooks). */
export const checked = <T>(check: ((value: unknown) => value is T) & { errors?: unknown }, value: unknown): T => {
  if (!check(value)) throw new BadRequest('Invalid request', check.errors)
  return value
}
