import { Ajv, addFormats } from '@feathersjs/schema'
import type { ValidateFunction } from 'ajv'
import { envelopeSchema, eventSchemas, type EventEnvelope, type EventType } from './event-types'

/** The message is not a valid event: retrying cannot help, so it is dead-lettered at once. */
export class InvalidEventError extends Error {
  override name = 'InvalidEventError'
}

// The formats the event schemas use; free text in events is checked where it is written, by the service's own schemas.
const eventValidator = addFormats(new Ajv({ allErrors: true }), ['date-time', 'email', 'uuid'])
const validateEnvelopeShape = eventValidator.compile(envelopeSchema)
const dataValidators = new Map<string, ValidateFunction>(Object.entries(eventSchemas).map(([type, schema]) => [type, eventValidator.compile(schema)]))

/** `/a/b` (ajv's instancePath) as `a.b`. */
const fieldName = (instancePath: string, missingProperty?: string) =>
  [...instancePath.split('/').filter(Boolean), ...(missingProperty ? [missingProperty] : [])].join('.')

const describe = (prefix: string, validate: ValidateFunction) =>
  (validate.errors ?? [])
    .map((error) => `${[prefix, fieldName(error.instancePath, error.params.missingProperty)].filter(Boolean).join('.')}: ${error.message}`)
    .join('; ')

export const assertEventData = <T extends EventType>(type: T, data: unknown) => {
  const validate = dataValidators.get(type)
  if (!validate) throw new InvalidEventError(`unknown event type "${type}"`)
  if (!validate(data)) throw new InvalidEventError(`invalid ${type}: ${describe('data', validate)}`)
}

/** Parses and validates a message body: envelope first, then the data against its type's schema. */
export const parseEvent = (body: Buffer): EventEnvelope => {
  let envelope: EventEnvelope
  try {
    envelope = JSON.parse(body.toString('utf8'))
  } catch (error) {
    throw new InvalidEventError(`body is not JSON: ${(error as Error).message}`)
  }
  if (!validateEnvelopeShape(envelope)) throw new InvalidEventError(`invalid envelope: ${describe('', validateEnvelopeShape)}`)
  assertEventData(envelope.type, envelope.data)
  return envelope
}
