import { vacuumWhenDead } from '@marketmesh/events'
import type { ServiceApplication } from './declarations'
import { runPeriodically } from './periodic'

const VACUUM_INTERVAL_MS = 60_000

/**
 * Every minute, vacuums each of `tables` that holds `VACUUM_AFTER_DEAD_ROWS` dead rows or more
 * (`vacuumWhenDead`). For the tables a service updates with every order (a product's stock, an
 * order's status, a delivery's claim): each update leaves a dead row version and index entries
 * that every later read of those rows walks until a vacuum, so without one an order costs more
 * the longer the service runs (bench/soak measured it). Autovacuum does this where it is on and
 * keeps up; this bounds the dead rows by what a minute makes where it is off or behind.
 */
export const vacuumWhileRunning = (app: ServiceApplication, tables: readonly string[]) =>
  runPeriodically(app, `vacuum of ${tables.join(', ')}`, VACUUM_INTERVAL_MS, async () => {
    for (const table of tables) await vacuumWhenDead(app.get('postgresqlClient'), table)
  })
