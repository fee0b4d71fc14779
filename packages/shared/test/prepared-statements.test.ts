import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { queryPooled, runInTransaction } from '@marketmesh/events'
import { createKnex, dropDatabase, ensureDatabase, type Knex } from '../src'
import { POSTGRES, uniqueName } from '@marketmesh/test-support'

const url = `${POSTGRES}/${uniqueName('prepared')}`
const databases: Knex[] = []
// One connection each: what a statement prepared is prepared on is the connection the next one reads.
const knexOf = (preparedStatements?: boolean) => {
  const db = createKnex({ client: 'pg', connection: url, pool: { min: 0, max: 1 }, preparedStatements })
  databases.push(db)
  return db
}
const preparedOn = async (db: Knex) =>
  (await db.raw<{ rows: Array<{ statement: string }> }>('SELECT statement FROM pg_prepared_statements')).rows.map((row) => row.statement)

beforeAll(async () => {
  await ensureDatabase(url)
  const db = knexOf()
  await db.schema.createTable('items', (table) => {
    table.increments('id')
    table.text('title').notNullable()
  })
  await db('items').insert([{ title: 'one' }, { title: 'two' }])
})
afterAll(async () => {
  await Promise.all(databases.map((db) => db.destroy()))
  await dropDatabase(url)
})

describe('prepared statements', () => {
  it('a statement with parameters is prepared once per connection, from knex, raw SQL, a transaction and queryPooled', async () => {
    const db = knexOf()
    for (let i = 0; i < 3; i++) {
      expect(await db('items').where({ title: 'one' }).select('id')).toEqual([{ id: 1 }])
      await runInTransaction(db, (trx) => trx('items').where('id', '>', 1).update({ title: 'two' }))
      expect(await queryPooled(db, 'SELECT title FROM items WHERE id = $1', [2])).toEqual([{ title: 'two' }])
    }
    const prepared = await preparedOn(db)
    expect(prepared).toEqual(
      expect.arrayContaining([
        'select "id" from "items" where "title" = $1',
        'update "items" set "title" = $1 where "id" > $2',
        'SELECT title FROM items WHERE id = $1'
      ])
    )
    // Three of each ran: one statement each, not three.
    expect(prepared).toHaveLength(3)
  })

  it('is off with preparedStatements: false', async () => {
    const db = knexOf(false)
    expect(await db('items').where({ title: 'one' }).select('id')).toEqual([{ id: 1 }])
    expect(await preparedOn(db)).toEqual([])
  })

  it('a statement prepared before a migration changed its columns fails once, then runs on a fresh connection', async () => {
    const db = knexOf()
    const read = () => db('items').where('id', '=', 1).select('*')
    expect(await read()).toEqual([{ id: 1, title: 'one' }])
    await knexOf(false).schema.alterTable('items', (table) => table.text('note'))
    await expect(read()).rejects.toMatchObject({ code: '0A000' })
    expect(await read()).toEqual([{ id: 1, title: 'one', note: null }])
  })
})
