import type { Knex } from 'knex'

/**
 * What tells an infrastructure failure (the database went away, a failover, a deadlock the
 * database resolved by aborting us) from a handler's own failure. Only the latter counts as an
 * attempt; the former pauses consumption and tries again.
 */

// SQLSTATE classes and codes of PostgreSQL that say nothing about the event being handled.
const TRANSIENT_SQLSTATE_CLASSES = ['08'] // connection exception
const TRANSIENT_SQLSTATES = [
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '53300', // too_many_connections
  '55P03', // lock_not_available
  '57P01', // admin_shutdown (a restart, pg_terminate_backend)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, recovery)
  '58000', // system_error
  '25006' // read_only_sql_transaction (a primary that became a standby in a failover)
]
const CONNECTION_ERRNOS = ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']

// node-postgres and knex say these in words, without a code.
const CONNECTION_MESSAGES = [
  /^Connection terminated/,
  /^Client has encountered a connection error and is not queryable/,
  /^Knex: Timeout acquiring a connection/,
  /^Aborted$/ // knex's rejection of a transaction whose connection died
]

const causes = (error: unknown): unknown[] => {
  const chain: unknown[] = []
  for (let current = error; current && chain.length < 5; current = (current as { cause?: unknown }).cause) chain.push(current)
  return chain
}

const isDatabaseTransient = (error: unknown) => {
  const { code, message, name } = (error ?? {}) as { code?: unknown; message?: unknown; name?: unknown }
  if (typeof code === 'string' && code.length === 5) {
    if (TRANSIENT_SQLSTATES.includes(code) || TRANSIENT_SQLSTATE_CLASSES.includes(code.slice(0, 2))) return true
  }
  if (name === 'KnexTimeoutError') return true
  return typeof message === 'string' && CONNECTION_MESSAGES.some((pattern) => pattern.test(message))
}

/** PostgreSQL aborted the transaction for a deadlock or a serialization conflict: run it again, alone. */
export const isLockConflict = (error: unknown) =>
  causes(error).some((cause) => ['40P01', '40001'].includes(String((cause as { code?: unknown })?.code)))

const isConnectionError = (error: unknown) => CONNECTION_ERRNOS.includes(String((error as { code?: unknown })?.code))

/** Whether the database answers now, on a connection from the pool. */
export const databaseAnswers = async (db: Knex) => {
  try {
    await db.raw('SELECT 1')
    return true
  } catch {
    return false
  }
}

/**
 * True when the error, or what caused it, is PostgreSQL's or its connection's. A refused
 * connection is the database's only while the database does not answer: a handler's call to
 * another dependency (a payment provider refusing connections) fails on its own, and counts.
 */
export const isInfrastructureFailure = async (error: unknown, db: Knex) => {
  const chain = causes(error)
  if (chain.some(isDatabaseTransient)) return true
  return chain.some(isConnectionError) && !(await databaseAnswers(db))
}
