import { Counter, type Registry } from 'prom-client'

export type EventMetrics = ReturnType<typeof createEventMetrics>

/** Counters by event type; the outbox gauges live with the relay, which can read the table. */
export const createEventMetrics = (registry: Registry) => {
  const counter = (name: string, help: string, labelNames: string[]) => new Counter({ name, help, labelNames, registers: [registry] })
  return {
    published: counter('events_published_total', 'Events published with a broker confirm', ['type']),
    consumed: counter('events_consumed_total', 'Events handled and committed', ['type', 'consumer']),
    duplicates: counter('events_duplicates_total', 'Redelivered events acked and skipped', ['type', 'consumer']),
    failed: counter('events_failed_total', 'Handler or validation failures', ['type', 'consumer']),
    retried: counter('events_retried_total', 'Events sent to a retry (delay) queue', ['type', 'consumer']),
    deadLettered: counter('events_dead_lettered_total', 'Events sent to the dead-letter queue', ['type', 'consumer']),
    paused: counter('events_consumption_paused_total', 'Times consumption paused for an infrastructure failure', ['consumer']),
    sideEffectsDone: counter('side_effects_done_total', 'Side effects carried out', ['kind']),
    sideEffectsRetried: counter('side_effects_retried_total', 'Side effect attempts that failed and will be retried', ['kind']),
    sideEffectsFailed: counter('side_effects_failed_total', 'Side effects given up after their last attempt', ['kind'])
  }
}
