import DataLoader from 'dataloader'
import type { Knex } from 'knex'
import { queryPooled } from './knex-internals'

/**
 * Reads rows by key for callers that ask at once (the side effects a claim hands over start
 * together): their keys in one statement, `sql` taking them as its one parameter, an array
 * (`WHERE id = ANY($1::uuid[])`). A key without a row loads undefined. Nothing is cached: each
 * load reads the row as it is then.
 */
export const batchedLookup = <R>(db: Knex, sql: string, keyOf: (row: R) => string) =>
  new DataLoader<string, R | undefined>(
    async (keys) => {
      const found = new Map((await queryPooled<R>(db, sql, [[...new Set(keys)]])).map((row) => [keyOf(row), row]))
      return keys.map((key) => found.get(key))
    },
    { cache: false }
  )
