import { BadRequest } from '@feathersjs/errors'

/** A 400 for one field, shaped like a schema error so the caller sees "Invalid <field>: <why>". */
export const invalidField = (field: string, message: string) =>
  new BadRequest(`Invalid ${field}: ${message}`, [{ instancePath: `/${field}`, message }])
