import type { HookContext } from '@feathersjs/feathers'
import type { ServiceApplication } from '../declarations'
import type { EventData, EventType } from '@marketmesh/events'
import { transactionOf } from './transaction'

/**
 * After hook: emits `type` through the outbox, in the transaction of `inTransaction()`, so the
 * event is published if and only if the write commits. `toData` maps each result to the event's data.
 */
export const emitEvent =
  <T extends EventType, R = any>(type: T, toData: (result: R, context: HookContext<ServiceApplication>) => EventData<T>) =>
  async (context: HookContext<ServiceApplication>) => {
    const trx = transactionOf(context)
    const results: R[] = Array.isArray(context.result) ? context.result : [context.result]
    await context.app.get('events').emitAll(
      trx,
      type,
      results.map((result) => toData(result, context))
    )
  }
