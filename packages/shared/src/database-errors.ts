import { BadRequest, Conflict, FeathersError, GeneralError, Unavailable } from '@feathersjs/errors'

/** What @feathersjs/knex keeps the original error under when it wraps one. */
const KNEX_ADAPTER_ERROR = Symbol.for('@feathersjs/knex/error')

/** A PostgreSQL error as `pg` raises it: a five-character SQLSTATE, a severity, the server's message. */
export interface DatabaseError extends Error {
  code: string
  severity: string
}

const isDatabaseError = (error: unknown): error is DatabaseError =>
  error instanceof Error &&
  typeof (error as DatabaseError).code === 'string' &&
  /^[0-9A-Z]{5}$/.test((error as DatabaseError).code) &&
  typeof (error as DatabaseError).severity === 'string'

/** The PostgreSQL error behind an error, also when the knex adapter wrapped it in a Feathers error. */
export const databaseErrorOf = (error: unknown): DatabaseError | undefined => {
  const original = (error as { [KNEX_ADAPTER_ERROR]?: unknown } | undefined)?.[KNEX_ADAPTER_ERROR] ?? error
  return isDatabaseError(original) ? original : undefined
}

// By SQLSTATE, then by its class (the first two characters). The database's own message names
// tables, columns and SQL, so it never reaches the caller: these say what was wrong instead.
const byCode: Record<string, () => FeathersError> = {
  '22P02': () => new BadRequest('Invalid input: a value does not have the type of its field'),
  '22021': () => new BadRequest('Invalid input: text must not contain NUL characters'),
  '22P05': () => new BadRequest('Invalid input: text must not contain NUL characters'),
  '22003': () => new BadRequest('Invalid input: a number is out of range'),
  '22007': () => new BadRequest('Invalid input: not a valid date or time'),
  '22008': () => new BadRequest('Invalid input: a date or time is out of range'),
  '22001': () => new BadRequest('Invalid input: a text is too long'),
  '2201W': () => new BadRequest('Invalid query: $limit must be a whole number of 0 or more'),
  '2201X': () => new BadRequest('Invalid query: $skip must be a whole number of 0 or more'),
  '42703': () => new BadRequest('Invalid query: unknown field'),
  '42883': () => new BadRequest('Invalid query: an operator does not apply to the type of its field'),
  '23505': () => new Conflict('This already exists'),
  '23503': () => new Conflict('This conflicts with the records it refers to or that refer to it'),
  '23502': () => new BadRequest('Invalid input: a required field is missing'),
  '23514': () => new BadRequest('Invalid input: a value is outside what its field allows'),
  '54001': () => new BadRequest('Invalid query: too complex')
}
const byClass: Record<string, () => FeathersError> = {
  '22': () => new BadRequest('Invalid input'),
  '42': () => new BadRequest('Invalid query'),
  '54': () => new BadRequest('Invalid input: too large'),
  // Not the caller's fault, and over soon: connections, resources, shutdowns, conflicts between transactions.
  '08': () => new Unavailable('The database is not available, try again'),
  '53': () => new Unavailable('The database is not available, try again'),
  '57': () => new Unavailable('The database is not available, try again'),
  '40': () => new Unavailable('The database is busy, try again')
}

/** A safe Feathers error for a database error: the right status, and no SQL, table or column in its message. */
export const fromDatabaseError = (error: DatabaseError): FeathersError =>
  (byCode[error.code] ?? byClass[error.code.slice(0, 2)] ?? (() => new GeneralError('Internal server error')))()
