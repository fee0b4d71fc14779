import type { Knex } from 'knex'

/**
 * What a handler needs to be right whatever order the events of one aggregate arrive in
 * (retries go to the back of the queue, batches and instances run in parallel):
 *
 *   await lockAggregate(trx, 'order', orderId)        // handlers of this order take turns
 *   if (await tombstoneOf(trx, 'order', orderId)) return   // it has ended: a late event changes nothing
 *   ...
 *   await placeTombstone(trx, 'order', orderId, event)  // this event ends it
 *
 * The lock is held until the transaction ends, so the check and the write of two handlers of
 * the same aggregate cannot interleave. Tombstones are kept as long as the dedupe rows.
 */

// First key of the advisory lock; the others are a hash of the aggregate's type and id.
const AGGREGATE_LOCK = 0x61676772

/** The name of an aggregate's lock, as `lockAggregates` and a handler's declared `locks` take it. */
export const aggregateKey = (aggregate: string, id: string) => `${aggregate}:${id}`

export const lockAggregate = async (trx: Knex.Transaction, aggregate: string, id: string) => {
  await trx.raw('SELECT pg_advisory_xact_lock(?, hashtext(?))', [AGGREGATE_LOCK, aggregateKey(aggregate, id)])
}

/**
 * An SQL scalar subquery that takes the locks of the aggregates `keys` names (an SQL row source with
 * a `key` column of `aggregateKey`s) in the order of their hashes, the one order every transaction
 * takes them in: two transactions taking overlapping sets wait for each other, and never deadlock.
 * A lock already held is taken again at no cost. For a statement that takes them alongside its work.
 */
export const takingAggregateLocks = (keys: string) =>
  `(SELECT count(pg_advisory_xact_lock(${AGGREGATE_LOCK}, hash)) FROM (SELECT DISTINCT hashtext(key) AS hash FROM ${keys} ORDER BY 1) AS sorted)`

/** Takes the locks of several aggregates (`aggregateKey`s) in one statement, in the one order (`takingAggregateLocks`). */
export const lockAggregates = async (trx: Knex.Transaction, keys: readonly string[]) => {
  if (keys.length === 0) return
  await trx.raw(`SELECT ${takingAggregateLocks('unnest(?::text[]) AS key')}`, [[...keys]])
}

/** Marks the aggregate ended by `event`; false when it already was (the first reason stays). */
export const placeTombstone = async (trx: Knex.Transaction, aggregate: string, id: string, event: { id: string; type: string }) => {
  const placed = await trx('tombstones')
    .insert({ aggregate, aggregate_id: id, reason: event.type, event_id: event.id })
    .onConflict(['aggregate', 'aggregate_id'])
    .ignore()
    .returning('aggregate_id')
  return placed.length > 0
}

/** The event type that ended the aggregate, if one did. */
export const tombstoneOf = async (trx: Knex.Transaction, aggregate: string, id: string): Promise<string | undefined> => {
  const row = await trx('tombstones').where({ aggregate, aggregate_id: id }).first('reason')
  return row?.reason
}
