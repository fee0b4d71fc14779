import { KnexService } from '@feathersjs/knex'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runInTransaction, withEventCause, writeToOutbox, eventBackboneMigrations } from '../src'
import { createKnex, dropDatabase, ensureDatabase, migrateLatest, type Knex } from '@marketmesh/shared'
import { POSTGRES, uniqueName } from '@marketmesh/test-support'
import { orderCreated } from './fixtures/effects.cjs'

const database = `${POSTGRES}/${uniqueName('transaction')}`
let db: Knex

beforeAll(async () => {
  await ensureDatabase(database)
  db = createKnex({ client: 'pg', connection: database, pool: { min: 0, max: 4 } } as never)
  await migrateLatest(db, eventBackboneMigrations, database)
  await db.schema.createTable('items', (table) => {
    table.increments('id')
    table.string('name').notNullable().unique()
  })
})

afterAll(async () => {
  await db.destroy()
  await dropDatabase(database)
})

const names = async () => (await db('items').orderBy('id').pluck('name')) as string[]
const clear = () => db('items').delete()

describe('runInTransaction', () => {
  it('commits what the work wrote and resolves with its value; executionPromise resolves too', async () => {
    await clear()
    let execution: Promise<unknown> | undefined
    const value = await runInTransaction(db, async (trx) => {
      execution = trx.executionPromise
      await trx('items').insert({ name: 'builder' })
      await trx.raw('INSERT INTO items (name) VALUES (?)', ['raw'])
      await db('items').insert({ name: 'other' }).transacting(trx)
      // Inside, its own writes are visible; outside they are not yet.
      expect(await trx('items').count({ n: '*' })).toEqual([{ n: 3 }])
      expect(await db('items').count({ n: '*' })).toEqual([{ n: 0 }])
      return 'done'
    })
    expect(value).toBe('done')
    await expect(execution).resolves.toBe('done')
    expect(await names()).toEqual(['builder', 'raw', 'other'])
  })

  it('rolls back when the work throws and rejects with its error; executionPromise rejects', async () => {
    await clear()
    let execution: Promise<unknown> | undefined
    const failure = new Error('the order could not be saved')
    await expect(
      runInTransaction(db, async (trx) => {
        execution = trx.executionPromise
        await trx('items').insert({ name: 'lost' })
        throw failure
      })
    ).rejects.toBe(failure)
    await expect(execution).rejects.toBe(failure)
    expect(await names()).toEqual([])
  })

  it('does not report a commit when a failed statement had its error caught', async () => {
    await clear()
    await db('items').insert({ name: 'taken' })
    await expect(
      runInTransaction(db, async (trx) => {
        await trx('items').insert({ name: 'kept?' })
        await trx('items')
          .insert({ name: 'taken' })
          .catch(() => undefined)
      })
    ).rejects.toThrow(/rolled back/)
    expect(await names()).toEqual(['taken'])
  })

  it('ends early on trx.commit() / trx.rollback(), and refuses queries once ended', async () => {
    await clear()
    let stale: Knex.Transaction | undefined
    await runInTransaction(db, async (trx) => {
      stale = trx
      await trx('items').insert({ name: 'committed early' })
      await trx.commit()
      expect(trx.isCompleted()).toBe(true)
    })
    await expect(stale!('items').insert({ name: 'too late' })).rejects.toThrow(/already complete/)
    const rolledBack = await runInTransaction(db, async (trx) => {
      await trx('items').insert({ name: 'rolled back' })
      await trx.rollback()
      return 'not this'
    })
    // As knex does by default: a rollback without an error resolves, with nothing.
    expect(rolledBack).toBeUndefined()
    expect(await names()).toEqual(['committed early'])
  })

  it('nests savepoints through knex: a failed one undoes only its own writes', async () => {
    await clear()
    await runInTransaction(db, async (trx) => {
      await trx('items').insert({ name: 'outer' })
      await trx
        .transaction(async (nested) => {
          await nested('items').insert({ name: 'inner, undone' })
          throw new Error('inner failure')
        })
        .catch(() => undefined)
      await trx.savepoint(async (nested) => {
        expect(nested.parentTransaction).toBe(trx)
        await nested('items').insert({ name: 'inner, kept' })
      })
    })
    expect(await names()).toEqual(['outer', 'inner, kept'])
  })

  it('runs in a savepoint when given a transaction', async () => {
    await clear()
    await runInTransaction(db, async (trx) => {
      await runInTransaction(trx, (nested) => nested('items').insert({ name: 'nested' }))
      await runInTransaction(trx, async (nested) => {
        await nested('items').insert({ name: 'nested, undone' })
        throw new Error('inner failure')
      }).catch(() => undefined)
      expect(await trx('items').pluck('name')).toEqual(['nested'])
    })
    expect(await names()).toEqual(['nested'])
  })

  it('passes its queries to query listeners: the transaction hears its own, the knex instance all', async () => {
    const all: string[] = []
    const listener = (query: { sql: string }) => all.push(query.sql)
    db.on('query', listener)
    const own: string[] = []
    try {
      await Promise.all(
        ['first', 'second'].map((name) =>
          runInTransaction(db, async (trx) => {
            if (name === 'first') trx.on('query', (query: { sql: string }) => own.push(query.sql))
            await trx.raw(`SELECT '${name}' AS name`)
          })
        )
      )
    } finally {
      db.off('query', listener)
    }
    expect(own).toEqual([`SELECT 'first' AS name`])
    expect(all.sort()).toEqual([`SELECT 'first' AS name`, `SELECT 'second' AS name`])
  })

  it('is what a @feathersjs/knex service takes as params.transaction.trx', async () => {
    await clear()
    const items = new KnexService({ Model: db, name: 'items' })
    await expect(
      runInTransaction(db, async (trx) => {
        await items.create({ name: 'through the service' }, { transaction: { starting: false, trx } })
        expect(await items.find({ paginate: false, transaction: { starting: false, trx } })).toHaveLength(1)
        throw new Error('undo it')
      })
    ).rejects.toThrow('undo it')
    await runInTransaction(db, (trx) => items.create({ name: 'kept' }, { transaction: { starting: false, trx } }))
    expect(await names()).toEqual(['kept'])
  })

  it('gives each concurrent transaction its own identity: causes and outbox rows do not cross', async () => {
    await db('outbox').delete()
    const written = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        runInTransaction(db, async (trx) => {
          const write = () => writeToOutbox(trx, 'order-service', 'order.created', Array.from({ length: (i % 3) + 1 }, orderCreated))
          return i % 2 === 0 ? withEventCause({ correlationId: `request-${i}`, causationId: null }, write) : write()
        })
      )
    )
    written.forEach((envelopes, i) => {
      for (const envelope of envelopes) expect(envelope.correlationId).toBe(i % 2 === 0 ? `request-${i}` : envelope.id)
    })
    // Each transaction's events are in the outbox, in the order given.
    const rows: Array<{ event_id: string }> = await db('outbox').orderBy('id').select('event_id')
    const position = new Map(rows.map((row, index) => [row.event_id, index]))
    expect(rows).toHaveLength(written.flat().length)
    for (const envelopes of written) {
      const positions = envelopes.map((envelope) => position.get(envelope.id)!)
      expect(positions).toEqual([...positions].sort((a, b) => a - b))
    }
  })
})
