import { VACUUM_AFTER_DEAD_ROWS } from '@marketmesh/events'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createServiceApp, serviceSettingsSchema, type ServiceApplication } from '../src'
import { cleanUp, isolatedSettings, waitFor } from '@marketmesh/test-support'

describe('a service churning tables (churningTables)', () => {
  let app: ServiceApplication | undefined
  const settings = isolatedSettings('vacuum')
  afterEach(async () => {
    vi.useRealTimers()
    await app?.teardown()
    await cleanUp({ prefix: settings.amqp.prefix, databases: [settings.postgresql.connection] })
  })

  it('vacuums each of them every minute once it holds enough dead rows, and leaves one with fewer alone', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
    app = createServiceApp({
      name: 'vacuum',
      root: __dirname,
      settingsSchema: serviceSettingsSchema({}),
      overrides: { ...settings, port: 0, logLevel: 'silent' },
      migrations: {
        '0001_stock': {
          async up(knex) {
            // `count` indexed, as a product's stock is: its updates are not HOT, their dead versions stay until a vacuum.
            for (const name of ['stock', 'quiet']) {
              await knex.schema.createTable(name, (table) => {
                table.integer('id').primary()
                table.integer('count').index()
              })
            }
          },
          async down() {}
        }
      },
      services: () => undefined,
      churningTables: ['stock', 'quiet']
    })
    await app.setup()
    const db = app.get('postgresqlClient')
    // Rows as a reservation leaves them: one row updated again and again, a dead version each time.
    await db('stock').insert({ id: 1, count: 0 })
    await db('quiet').insert({ id: 1, count: 0 })
    await db.raw('UPDATE quiet SET count = count + 1')
    await db.transaction(async (trx) => {
      for (let i = 0; i < VACUUM_AFTER_DEAD_ROWS; i++) await trx('stock').update({ count: trx.raw('count + 1') })
    })
    const tables = async () =>
      (
        await db.raw(
          "SELECT relname, n_dead_tup::int AS dead, last_vacuum IS NOT NULL AS vacuumed FROM pg_stat_user_tables WHERE relname IN ('quiet', 'stock') ORDER BY relname"
        )
      ).rows as Array<{ relname: string; dead: number; vacuumed: boolean }>
    await waitFor(async () => (await tables())[1].dead >= VACUUM_AFTER_DEAD_ROWS, { what: 'the dead rows counted' })

    vi.advanceTimersByTime(59_000)
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect((await tables()).map(({ vacuumed }) => vacuumed)).toEqual([false, false])
    vi.advanceTimersByTime(1_000)
    await waitFor(async () => (await tables())[1].vacuumed, { what: 'the churning table vacuumed' })
    expect(await tables()).toEqual([
      { relname: 'quiet', dead: 1, vacuumed: false },
      { relname: 'stock', dead: 0, vacuumed: true }
    ])
  })
})
