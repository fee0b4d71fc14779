import { Type, type Static } from '@feathersjs/typebox'
import { QUEUE_TYPES } from './topology'

/**
 * The backbone's settings, declared once here: @marketmesh/shared's settings schema spreads them into
 * every service's (`amqp`, `sideEffects`, `outbox`), with their defaults and environment variables.
 */
export const eventBackboneSettingsProperties = {
  amqp: Type.Object({
    url: Type.String({ pattern: '^amqps?://' }),
    /** Exchanges and queues are named `<prefix>.events`, `<prefix>.dlx`, `<prefix>.<consumer>...` */
    prefix: Type.String({ pattern: '^[a-z0-9_.-]+$' }),
    /** The consumers' queues' type (see QUEUE_TYPES): quorum, or classic on a broker of one node. */
    queueType: Type.Union(QUEUE_TYPES.map((type) => Type.Literal(type))),
    prefetch: Type.Integer({ minimum: 1, maximum: 65535 }),
    concurrency: Type.Integer({ minimum: 1 }),
    batchSize: Type.Integer({ minimum: 1 }),
    retryDelaysMs: Type.Array(Type.Integer({ minimum: 1 }), { minItems: 0 }),
    publishTimeoutMs: Type.Integer({ minimum: 100 }),
    /** How long a consumer remembers an event id to skip its redeliveries. */
    dedupeRetentionHours: Type.Number({ minimum: 1 }),
    /** A redelivered event whose handling was interrupted this many times (crashes) is dead-lettered. */
    crashLimit: Type.Integer({ minimum: 1 })
  }),
  sideEffects: Type.Object({
    /** Delay before each retry of a failed side effect; after the last it is marked failed. */
    retryDelaysMs: Type.Array(Type.Integer({ minimum: 1 }), { minItems: 0 }),
    /** A side effect claimed this long ago and not finished is run again (its instance may have died). */
    leaseMs: Type.Integer({ minimum: 100 }),
    pollIntervalMs: Type.Integer({ minimum: 10 }),
    concurrency: Type.Integer({ minimum: 1 })
  }),
  outbox: Type.Object({
    batchSize: Type.Integer({ minimum: 1 }),
    /** Safety net only: the relay is woken when an emitting transaction commits. */
    pollIntervalMs: Type.Integer({ minimum: 10 }),
    retentionHours: Type.Number({ minimum: 0 })
  })
}

type BackboneSettingsProperties = typeof eventBackboneSettingsProperties

/** What the event bus reads of a service's settings. */
export type EventBusSettings = { [K in keyof BackboneSettingsProperties]: Static<BackboneSettingsProperties[K]> } & {
  postgresql: { connection: string }
}
