import type pg from 'pg'
import { disposeConnection } from '@marketmesh/events'

/**
 * Past this many distinct statements, a process prepares no more: SQL built from a varying number
 * of values (`IN ($1, $2, …)`) makes new texts, and each one prepared stays on every connection.
 * A service's own statements number in the low hundreds.
 */
export const MAX_PREPARED_STATEMENTS = 1_000

const names = new Map<string, string>()

const nameOf = (text: string) => {
  let name = names.get(text)
  if (name === undefined && names.size < MAX_PREPARED_STATEMENTS) {
    name = `marketmesh_${names.size}`
    names.set(text, name)
  }
  return name
}

/** What a prepared statement gets once a migration has changed the columns its plan returns. */
const isStalePlan = (error: unknown) =>
  (error as { code?: string })?.code === '0A000' && /cached plan must not change result type/.test((error as Error).message)

type QueryArguments = [config: unknown, values?: unknown, callback?: unknown]

/**
 * Makes every statement with parameters that `connection` runs a named prepared statement, one
 * name per SQL text: PostgreSQL parses and plans it once per connection instead of on every call
 * (in bench/checkout, a fifth of PostgreSQL's CPU). A statement prepared before a migration
 * changed its table fails once with "cached plan must not change result type"; the connection
 * is then marked disposed, so knex's pool replaces it, prepared statements and all, and the
 * statement's retry runs on a fresh one.
 */
export const prepareStatements = (connection: pg.Client) => {
  const query = connection.query.bind(connection) as (...args: QueryArguments) => unknown
  const disposeOnStalePlan = (error: unknown) => {
    if (isStalePlan(error)) disposeConnection(connection, error)
  }
  connection.query = ((...args: QueryArguments) => {
    const [config] = args
    if (typeof config === 'string' && Array.isArray(args[1]) && args[1].length > 0) {
      const name = nameOf(config)
      if (name) args = [{ name, text: config, values: args[1] }, args[2]]
    } else if (config !== null && typeof config === 'object' && !('submit' in config)) {
      // (A QueryStream or Cursor, which has `submit`, is left as it is.)
      const named = config as { name?: string; text?: unknown; values?: unknown[] }
      if (named.name === undefined && typeof named.text === 'string' && named.values && named.values.length > 0) {
        named.name = nameOf(named.text)
      }
    }
    const callback = args.find((arg) => typeof arg === 'function') as ((error: unknown, result: unknown) => void) | undefined
    if (callback) {
      const index = args.indexOf(callback)
      args[index] = (error: unknown, result: unknown) => {
        disposeOnStalePlan(error)
        callback(error, result)
      }
      return query(...args)
    }
    const result = query(...args) as Promise<unknown>
    result.catch(disposeOnStalePlan)
    return result
  }) as typeof connection.query
}
