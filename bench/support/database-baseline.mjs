// The database baseline of the benches: one-row transactions (BEGIN, INSERT, COMMIT) from 32
// writers with node-postgres on a database of its own, nothing else running. What PostgreSQL
// commits per second on this machine, the bound a write path is compared with.
import { createRequire } from 'node:module'
import { machineCpuSeconds } from './processes.mjs'

const require = createRequire(import.meta.url)
const pg = require('pg')
const { dropDatabase, ensureDatabase } = require('@marketmesh/shared')

export const WRITERS = 32

/**
 * Runs `transactionsPerWriter` transactions on each of 32 writers; returns how many, how long, and
 * the machine's busy CPU seconds meanwhile (the writers' own CPU counted with PostgreSQL's, as a
 * service's node-postgres is in the mesh).
 */
export const oneRowTransactions = async (url, transactionsPerWriter, body) => {
  await ensureDatabase(url)
  const pool = new pg.Pool({ connectionString: url, max: WRITERS })
  // Dropping the database ends the pool's last idle connections from the server side.
  pool.on('error', () => undefined)
  try {
    await pool.query('CREATE TABLE rows (id bigserial PRIMARY KEY, body jsonb NOT NULL)')
    const cpuBefore = machineCpuSeconds().busy
    const started = Date.now()
    await Promise.all(
      Array.from({ length: WRITERS }, async () => {
        for (let i = 0; i < transactionsPerWriter; i++) {
          const client = await pool.connect()
          try {
            await client.query('BEGIN')
            await client.query('INSERT INTO rows (body) VALUES ($1)', [body])
            await client.query('COMMIT')
          } finally {
            client.release()
          }
        }
      })
    )
    return { transactions: WRITERS * transactionsPerWriter, seconds: (Date.now() - started) / 1000, busy: machineCpuSeconds().busy - cpuBefore }
  } finally {
    await pool.end()
    await dropDatabase(url)
  }
}
