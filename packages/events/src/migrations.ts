import type { Knex } from 'knex'

/** One knex migration: the module a file in `migrations/` exports. */
export interface Migration {
  up(knex: Knex): Promise<void>
  down(knex: Knex): Promise<void>
}

/** Migrations run in the order of their names; a service lists its own in `migrations/index.ts`. */
export type MigrationList = Record<string, Migration>

/**
 * The outbox, the consumer's dedupe and crash-count tables, tombstones and side effects; every
 * service runs these before its own migrations. Frozen: a change is a new entry.
 */
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
  },
  '0000_event_backbone_2': {
    async up(knex) {
      // How often a redelivered event's handling was started without being settled: a consumer
      // crashing on the same event again and again, and only that event, is told by it.
      await knex.schema.createTable('interrupted_events', (table) => {
        table.string('consumer').notNullable()
        table.uuid('event_id').notNullable()
        table.integer('starts').notNullable()
        table.timestamp('last_started_at', { useTz: true }).notNullable().defaultTo(knex.fn.now())
        table.primary(['consumer', 'event_id'])
      })
      // An aggregate that has ended (an order cancelled): an event about it that arrives later changes nothing.
      await knex.schema.createTable('tombstones', (table) => {
        table.string('aggregate').notNullable()
        table.string('aggregate_id').notNullable()
        table.string('reason').notNullable()
        table.uuid('event_id')
        table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now())
        table.primary(['aggregate', 'aggregate_id'])
        table.index(['created_at'])
      })
      // Work outside the database (mail, print, payment calls), written in the transaction that
      // decides it and carried out after commit, with retries and a stable id.
      await knex.schema.createTable('side_effects', (table) => {
        table.uuid('id').primary()
        table.string('kind').notNullable()
        table.string('key').notNullable()
        table.jsonb('payload').notNullable()
        table.string('status').notNullable().defaultTo('pending')
        table.integer('attempts').notNullable().defaultTo(0)
        table.timestamp('run_after', { useTz: true }).notNullable().defaultTo(knex.fn.now())
        table.text('last_error')
        table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now())
        table.timestamp('finished_at', { useTz: true })
        table.unique(['kind', 'key'])
      })
      await knex.raw("CREATE INDEX side_effects_due ON side_effects (run_after) WHERE status = 'pending'")
      await knex.raw("CREATE INDEX side_effects_finished ON side_effects (finished_at) WHERE status = 'done'")
    },
    async down(knex) {
      await knex.schema.dropTable('side_effects')
      await knex.schema.dropTable('tombstones')
      await knex.schema.dropTable('interrupted_events')
    }
  },
  '0000_event_backbone_3': {
    async up(knex) {
      // The W3C trace context of the span that wrote the row (null when not tracing): the relay's
      // publish and the side effect's run continue that trace, whichever instance they run on.
      await knex.schema.alterTable('outbox', (table) => table.text('traceparent'))
      await knex.schema.alterTable('side_effects', (table) => table.text('traceparent'))
    },
    async down(knex) {
      await knex.schema.alterTable('side_effects', (table) => table.dropColumn('traceparent'))
      await knex.schema.alterTable('outbox', (table) => table.dropColumn('traceparent'))
    }
  },
  '0000_event_backbone_4': {
    async up(knex) {
      // The relay publishes the envelope as the text it was written as: stored as json (the text,
      // checked) it is read back as is, where jsonb was converted on every insert and again on
      // every read, the largest part of the outbox's cost in the database.
      await knex.raw('ALTER TABLE outbox ALTER COLUMN envelope TYPE json USING envelope::json')
    },
    async down(knex) {
      await knex.raw('ALTER TABLE outbox ALTER COLUMN envelope TYPE jsonb USING envelope::jsonb')
    }
  }
}
