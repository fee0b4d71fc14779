import type { Knex } from '@marketmesh/shared'
import { createStreamControlTriggers, dropStreamControlTriggers } from './0004_stream_control'

/**
 * The triggers of 0004 go: the event handlers of `device.revoked` and `user.updated` end the
 * streams themselves (src/stream/control.ts), so the rule lives in code.
 */
export async function up(knex: Knex) {
  await knex.raw(dropStreamControlTriggers)
}

export async function down(knex: Knex) {
  await knex.raw(createStreamControlTriggers)
}
