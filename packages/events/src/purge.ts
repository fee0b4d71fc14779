import type { Knex } from 'knex'

const PURGE_BATCH = 5_000

/**
 * Dead rows a queue-like table may hold before `vacuumWhenDead` vacuums it. Its reads walk its
 * partial indexes (`WHERE sent_at IS NULL`, `WHERE status = 'pending'`), which keep an entry for
 * every row updated out of them until a vacuum: unvacuumed, a read of the few live rows costs as
 * much as all the rows ever sent, and every order dearer the longer the service runs.
 */
export const VACUUM_AFTER_DEAD_ROWS = 1_000

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

/**
 * Vacuums `table` when PostgreSQL counts `deadRows` or more dead rows in it; returns whether it
 * did. Autovacuum would, but not where it is off (this machine's CI server) or behind (its
 * workers busy with bigger tables, its scale factor waiting for a fifth of the table): run on the
 * purge's timer, this bounds the dead rows by what one interval makes. SKIP_LOCKED: a vacuum
 * already running (autovacuum's, another instance's) is not waited for.
 */
export const vacuumWhenDead = async (db: Knex, table: string, deadRows = VACUUM_AFTER_DEAD_ROWS) => {
  const { rows } = await db.raw('SELECT n_dead_tup AS dead FROM pg_stat_user_tables WHERE relid = ?::regclass', [table])
  if (Number(rows[0]?.dead ?? 0) < deadRows) return false
  await db.raw('VACUUM (SKIP_LOCKED) ??', [table])
  return true
}
