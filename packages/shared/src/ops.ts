// Importable on its own as `@marketmesh/shared/ops`: what operators' tools (the CLI) need to name
// the broker's exchanges, queues and headers, without loading the service kit (Feathers, Koa,
// knex), which would take most of a command's start.
export * from '@marketmesh/events/topology'
export { eventTypes, type EventType } from '@marketmesh/events/event-types'
export { durationMs } from './durations'
export { redactUrl } from '@marketmesh/events/redact'
