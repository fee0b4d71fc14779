import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  afterCommit,
  batchedLookup,
  beforeAnswering,
  purgeInBatches,
  queryInTransaction,
  queryPooled,
  runInTransaction,
  VACUUM_AFTER_DEAD_ROWS,
  vacuumWhenDead
} from '../src'
import { createKnex, dropDatabase, ensureDatabase, type Knex } from '@marketmesh/shared'
import { POSTGRES, uniqueName, waitFor } from '@marketmesh/test-support'

// What the kit takes from knex beyond its documented query API (src/knex-internals.ts): if an upgrade changes it, this fails.
const url = `${POSTGRES}/${uniqueName('knex')}`
let db: Knex
beforeAll(async () => {
  await ensureDatabase(url)
  db = createKnex({ client: 'pg', connection: url, pool: { min: 0, max: 4 } })
  await db.schema.createTable('rows', (table) => {
    table.increments('id')
    table.boolean('old').notNullable()
  })
})
afterAll(async () => {
  await db.destroy()
  await dropDatabase(url)
})

describe('knex internals the kit relies on', () => {
  it('afterCommit runs once the transaction has committed, and never after a rollback', async () => {
    const seen: Array<number | string> = []
    await db.transaction(async (trx) => {
      const [{ id }] = await trx('rows').insert({ old: false }).returning('id')
      afterCommit(trx, () => {
        // Visible to another connection: the commit happened before the callback.
        void db('rows')
          .where({ id })
          .first('id')
          .then((row) => seen.push(row?.id ?? 'not visible'))
      })
      seen.push('inside')
    })
    await db
      .transaction(async (trx) => {
        afterCommit(trx, () => seen.push('after a rollback'))
        throw new Error('roll back')
      })
      .catch(() => undefined)
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(seen).toEqual(['inside', 1])
  })

  it('beforeAnswering runs after the commit and before runInTransaction resolves, in a savepoint too, and never after a rollback', async () => {
    const seen: Array<number | string> = []
    let inserted: number | undefined
    const value = await runInTransaction(db, async (trx) => {
      const [{ id }] = await trx('rows').insert({ old: false }).returning('id')
      inserted = id
      beforeAnswering(trx, async () => {
        // Visible to another connection: the commit happened before the task.
        const row = await db('rows').where({ id }).first('id')
        seen.push(row ? 'committed' : 'not visible')
      })
      await runInTransaction(trx, async (nested) => beforeAnswering(nested, async () => void seen.push('from the savepoint')))
      seen.push('inside')
      return 'value'
    })
    seen.push(value)
    await runInTransaction(db, async (trx) => {
      beforeAnswering(trx, async () => void seen.push('after a rollback'))
      throw new Error('roll back')
    }).catch(() => undefined)
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(seen).toEqual(['inside', 'committed', 'from the savepoint', 'value'])
    await db('rows').where({ id: inserted }).delete() // purgeInBatches counts the rows left
  })

  it('queryPooled runs one query on a pooled connection and gives it back', async () => {
    const rows = await queryPooled<{ answer: number }>(db, 'SELECT $1::int AS answer', [42])
    expect(rows).toEqual([{ answer: 42 }])
    expect(db.client.pool.numUsed()).toBe(0)
  })

  it('queryPooled with local settings runs the query in a transaction of its own with them, and rolls back a failing one', async () => {
    // One connection: what the next query sees is what the first left on it.
    const single = createKnex({ client: 'pg', connection: url, pool: { min: 0, max: 1 } })
    try {
      const [inside] = await queryPooled<{ synchronous_commit: string }>(single, 'SHOW synchronous_commit', [], { synchronous_commit: 'off' })
      expect(inside).toEqual({ synchronous_commit: 'off' })
      expect((await single.raw('SHOW synchronous_commit')).rows).toEqual([{ synchronous_commit: 'on' }])
      const before = await single('rows').count({ n: '*' })
      await expect(
        queryPooled(
          single,
          'WITH added AS (INSERT INTO rows (old) VALUES (true) RETURNING id) SELECT 1 / (SELECT count(*) - count(*) FROM added)',
          [],
          {
            synchronous_commit: 'off'
          }
        )
      ).rejects.toThrow(/division by zero/)
      expect(await single('rows').count({ n: '*' })).toEqual(before)
      expect((await single.raw('SELECT txid_current_if_assigned() AS open')).rows).toEqual([{ open: null }])
    } finally {
      await single.destroy()
    }
  })
})

describe('queryInTransaction', () => {
  it('runs on the transaction’s connection, in a savepoint too, sees what it wrote, and refuses once it ended', async () => {
    let ended: Knex.Transaction | undefined
    const seen = await runInTransaction(db, async (trx) => {
      const [{ id }] = await trx('rows').insert({ old: false }).returning('id')
      const mine = await queryInTransaction<{ id: number; old: boolean }>(trx, 'SELECT id, old FROM rows WHERE id = $1 FOR NO KEY UPDATE', [id])
      const nested = await runInTransaction(trx, (savepoint) =>
        queryInTransaction<{ id: number }>(savepoint, 'UPDATE rows SET old = true WHERE id = $1 RETURNING id', [id])
      )
      ended = trx
      return { id, mine, nested, after: await trx('rows').where({ id }).first('old') }
    })
    expect(seen.mine).toEqual([{ id: seen.id, old: false }])
    expect(seen.nested).toEqual([{ id: seen.id }])
    expect(seen.after).toEqual({ old: true })
    await expect(queryInTransaction(ended!, 'SELECT 1', [])).rejects.toThrow('Transaction query already complete')
    // Rolled back with its transaction, as any statement of it.
    const before = await db('rows').count({ n: '*' })
    await expect(
      runInTransaction(db, async (trx) => {
        await queryInTransaction(trx, 'INSERT INTO rows (old) VALUES ($1)', [true])
        throw new Error('changed my mind')
      })
    ).rejects.toThrow('changed my mind')
    expect(await db('rows').count({ n: '*' })).toEqual(before)
    await db('rows').where({ id: seen.id }).delete()
  })
})

describe('purgeInBatches', () => {
  it('deletes every matching row, batch after batch, and nothing else', async () => {
    await db.raw('INSERT INTO rows (old) SELECT i % 4 <> 0 FROM generate_series(1, 16000) AS i')
    const purged = await purgeInBatches(db, 'rows', 'old = ?', [true])
    expect(purged).toBe(12_000)
    expect(await db('rows').where({ old: true }).count({ n: '*' })).toEqual([{ n: 0 }])
    expect(await db('rows').where({ old: false }).count({ n: '*' })).toEqual([{ n: 4_001 }])
  })
})

describe('vacuumWhenDead', () => {
  // A queue-like table: a partial index on what is waiting, which every row is updated out of.
  const deadRowsOf = async () =>
    (await db.raw("SELECT n_dead_tup::int AS dead, last_vacuum IS NOT NULL AS vacuumed FROM pg_stat_user_tables WHERE relname = 'queue'")).rows[0]
  /** The shared buffers a read of the waiting rows touches. */
  const pagesOfRead = async () => {
    const { rows } = await db.raw('EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT id FROM queue WHERE sent_at IS NULL ORDER BY id LIMIT 10')
    const plan = rows[0]['QUERY PLAN'][0].Plan
    return plan['Shared Hit Blocks'] + plan['Shared Read Blocks']
  }

  it('vacuums a table once it holds the bound of dead rows, not before, and its reads get cheap again', async () => {
    await db.raw('CREATE TABLE queue (id bigserial PRIMARY KEY, sent_at timestamptz)')
    await db.raw('CREATE INDEX queue_unsent ON queue (id) WHERE sent_at IS NULL')
    await db.raw('ALTER TABLE queue SET (autovacuum_enabled = false)')
    await db.raw('INSERT INTO queue (sent_at) SELECT NULL FROM generate_series(1, ?)', [VACUUM_AFTER_DEAD_ROWS * 10])
    await db.raw('UPDATE queue SET sent_at = now() WHERE id <= ?', [VACUUM_AFTER_DEAD_ROWS - 1])
    await waitFor(async () => (await deadRowsOf()).dead === VACUUM_AFTER_DEAD_ROWS - 1, { what: 'the dead rows counted' })
    expect(await vacuumWhenDead(db, 'queue')).toBe(false)
    expect(await deadRowsOf()).toEqual({ dead: VACUUM_AFTER_DEAD_ROWS - 1, vacuumed: false })

    await db.raw('UPDATE queue SET sent_at = now() WHERE id <= ? AND sent_at IS NULL', [VACUUM_AFTER_DEAD_ROWS * 9])
    await waitFor(async () => (await deadRowsOf()).dead === VACUUM_AFTER_DEAD_ROWS * 9, { what: 'the dead rows counted' })
    const pagesBefore = await pagesOfRead()
    expect(await vacuumWhenDead(db, 'queue')).toBe(true)
    await waitFor(async () => (await deadRowsOf()).vacuumed, { what: 'the vacuum counted' })
    expect((await deadRowsOf()).dead).toBe(0)
    // The read walked the index entries of every row sent; now only those of the 1,000 waiting.
    expect(await pagesOfRead()).toBeLessThan(pagesBefore / 2)
  })
})

describe('batchedLookup', () => {
  it('reads the keys loaded in one tick in one statement, a row for each load or undefined, and caches none', async () => {
    const ids = (
      await db('rows')
        .insert([{ old: false }, { old: true }])
        .returning('id')
    ).map(({ id }) => String(id))
    const lookup = batchedLookup<{ id: number; old: boolean }>(db, 'SELECT id, old FROM rows WHERE id = ANY($1::int[])', ({ id }) => String(id))
    const acquire = db.client.acquireConnection
    let statements = 0
    db.client.acquireConnection = function (this: unknown, ...args: unknown[]) {
      statements += 1
      return acquire.apply(this, args)
    }
    try {
      const loaded = await Promise.all([lookup.load(ids[0]), lookup.load(ids[1]), lookup.load(ids[0]), lookup.load('0')])
      expect(loaded.map((row) => row?.old)).toEqual([false, true, false, undefined])
      expect(statements).toBe(1)
    } finally {
      db.client.acquireConnection = acquire
    }
    await db('rows').where({ id: ids[0] }).update({ old: true })
    expect((await lookup.load(ids[0]))?.old).toBe(true)
  })
})
