import type { Knex } from '@marketmesh/shared'

/**
 * Print jobs: one original per paid order (the partial unique index, whatever is redelivered) and
 * any number of reprints (`copy`). `deviceId` is the device that claimed it, `transport` how
 * (`sse` or `cloudprnt`); `notificationId` its `print.job` in the log, so that a stream opening
 * later can tell which queued jobs it has seen go by. `printer_presence` is when each device was
 * last seen and how: streams refresh it while open, CloudPRNT polls on every poll.
 */
export async function up(knex: Knex) {
  await knex.schema.createTable('print_jobs', (table) => {
    table.uuid('id').primary()
    table.uuid('sellerId').notNullable()
    table.uuid('orderId').notNullable()
    table.boolean('copy').notNullable()
    table.string('status').notNullable()
    table.jsonb('receipt').notNullable()
    table.uuid('deviceId')
    table.string('transport')
    table.text('error')
    table.bigInteger('notificationId')
    table.timestamp('createdAt', { useTz: true }).notNullable().defaultTo(knex.fn.now())
    table.timestamp('claimedAt', { useTz: true })
    table.timestamp('finishedAt', { useTz: true })
    table.index(['sellerId', 'createdAt'])
    table.index(['sellerId', 'status', 'createdAt'])
    table.index(['orderId'])
  })
  await knex.raw('CREATE UNIQUE INDEX print_jobs_one_original ON print_jobs ("orderId") WHERE NOT copy')
  // The metrics count the open ones at every scrape.
  await knex.raw(`CREATE INDEX print_jobs_open ON print_jobs (status) WHERE status IN ('queued', 'printing')`)
  await knex.schema.createTable('printer_presence', (table) => {
    table.uuid('deviceId').primary()
    table.string('transport').notNullable()
    table.timestamp('lastSeenAt', { useTz: true }).notNullable()
    // When its last stream on an instance closed; online again once a stream elsewhere refreshes lastSeenAt past it.
    table.timestamp('streamClosedAt', { useTz: true })
  })
}

export async function down(knex: Knex) {
  await knex.schema.dropTable('printer_presence')
  await knex.schema.dropTable('print_jobs')
}
