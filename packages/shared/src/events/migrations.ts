import type { MigrationList } from '../database'

/** The outbox and the consumer dedupe table; every service runs these before its own migrations. */
export const eventBackboneMigrations: MigrationList = {
  '0000_event_backbone': {
    async up(knex) {
      await knex.schema.createTable('outbox', (table) => {
        table.bigIncrements('id')
        table.uuid('event_id').notNullable().unique()
        table.string('type').notNullable()
        table.jsonb('envelope').notNullable()
        table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now())
        table.timestamp('sent_at', { useTz: true })
      })
      // The relay only ever reads unsent rows: keep that index small however long rows are kept.
      await knex.raw('CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL')
      await knex.raw('CREATE INDEX outbox_sent_at ON outbox (sent_at) WHERE sent_at IS NOT NULL')
      await knex.schema.createTable('processed_events', (table) => {
        table.string('consumer').notNullable()
        table.uuid('event_id').notNullable()
        table.timestamp('processed_at', { useTz: true }).notNullable().defaultTo(knex.fn.now())
        table.primary(['consumer', 'event_id'])
        table.index(['processed_at'])
      })
    },
    async down(knex) {
      await knex.schema.dropTable('processed_events')
      await knex.schema.dropTable('outbox')
    }
  }
}
