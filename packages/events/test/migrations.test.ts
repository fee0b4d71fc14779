import { afterAll, expect, it } from 'vitest'
import { eventBackboneMigrations } from '../src'
import { createKnex, dropDatabase, ensureDatabase, migrateLatest } from '@marketmesh/shared'
import { POSTGRES, uniqueName } from '@marketmesh/test-support'

const database = `${POSTGRES}/${uniqueName('migrations')}`
afterAll(() => dropDatabase(database))

it('lets instances starting at once on a fresh database all start: it is created once, each migration applied once', async () => {
  const instances = Array.from({ length: 4 }, () => createKnex({ client: 'pg', connection: database, pool: { min: 0, max: 1 } }))
  try {
    const applied = await Promise.all(
      instances.map(async (db) => {
        await ensureDatabase(database)
        return migrateLatest(db, eventBackboneMigrations, database)
      })
    )
    const names = Object.keys(eventBackboneMigrations).sort()
    expect(applied.flat().sort()).toEqual(names)
    const rows = await instances[0]('knex_migrations').select('name').orderBy('name')
    expect(rows.map((row) => row.name)).toEqual(names)
  } finally {
    await Promise.all(instances.map((db) => db.destroy()))
  }
})
