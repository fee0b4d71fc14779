import type { Knex } from './database'

/**
 * The only place the kit relies on knex beyond its documented query API. Each use is covered by
 * packages/shared/test/knex-internals.test.ts, which fails if a knex upgrade changes it.
 */

/** Runs `callback` once `trx` has committed (never after a rollback); knex has no commit hook. */
export const afterCommit = (trx: Knex.Transaction, callback: () => void) => {
  trx.executionPromise.then(callback, () => undefined)
}

/** The part of node-postgres' client a raw query needs. */
export interface PooledConnection {
  query<R>(sql: string, values?: unknown[]): Promise<{ rows: R[] }>
}

/**
 * Runs one query on a connection of knex's pool, skipping knex's query runner (for the hottest
 * read paths, where that runner is a measurable share of a request's CPU).
 */
export const queryPooled = async <R>(db: Knex, sql: string, values: unknown[]): Promise<R[]> => {
  const connection: PooledConnection = await db.client.acquireConnection()
  try {
    return (await connection.query<R>(sql, values)).rows
  } finally {
    db.client.releaseConnection(connection)
  }
}
