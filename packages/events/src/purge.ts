import type { Knex } from 'knex'

const PURGE_BATCH = 5_000

/**
 * Deletes the rows of `table` matching `condition` a few thousand at a time, each batch its own
 * statement: a purge after a busy week never holds one huge transaction, its locks and its WAL.
 */
export const purgeInBatches = async (db: Knex, table: string, condition: string, values: readonly Knex.Value[]) => {
  let purged = 0
  for (;;) {
    const { rowCount } = await db.raw(`DELETE FROM ?? WHERE ctid = ANY(ARRAY(SELECT ctid FROM ?? WHERE ${condition} LIMIT ${PURGE_BATCH}))`, [
      table,
      table,
      ...values
    ])
    purged += rowCount ?? 0
    if ((rowCount ?? 0) < PURGE_BATCH) return purged
  }
}
