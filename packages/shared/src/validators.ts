import { BadRequest } from '@feathersjs/errors'
import { Ajv, addFormats, type FormatsPluginOptions } from '@feathersjs/schema'

const formats: FormatsPluginOptions = [
  'date-time',
  'time',
  'date',
  'email',
  'hostname',
  'ipv4',
  'ipv6',
  'uri',
  'uri-reference',
  'uuid',
  'uri-template',
  'json-pointer',
  'relative-json-pointer',
  'regex'
]

/** Validates request bodies and event payloads (the generator's `dataValidator`). */
export const dataValidator: Ajv = addFormats(new Ajv({ allErrors: true }), formats)

/** Validates query strings, whose values arrive as strings (the generator's `queryValidator`). */
export const queryValidator: Ajv = addFormats(new Ajv({ coerceTypes: true, allErrors: true }), formats)

/** `/a/b` (ajv's instancePath) as `a.b`, the way settings and fields are named to people. */
export const fieldName = (instancePath: string, missingProperty?: string) =>
  [...instancePath.split('/').filter(Boolean), ...(missingProperty ? [missingProperty] : [])].join('.')

/** A 400 for one field that a hook checks, shaped like a schema error: "Invalid <field>: <why>". */
export const invalidField = (field: string, message: string) =>
  new BadRequest(`Invalid ${field}: ${message}`, [{ instancePath: `/${field}`, message }])
