import { trace } from '@opentelemetry/api'
import { pino, type Logger } from 'pino'

export type { Logger }

// The request id is passed explicitly: on the request's log lines and in `params.requestId`; the
// events a request's transaction emits carry it through `withEventCause` (@marketmesh/events).
const NO_SPAN = {}

/** A line logged within a span (tracing on) names it, so a log search and the trace find each other. */
const activeSpan = () => {
  const span = trace.getActiveSpan()
  if (!span) return NO_SPAN
  const { traceId, spanId } = span.spanContext()
  return { trace_id: traceId, span_id: spanId }
}

/** JSON lines for machines; pretty when a person watches a terminal (or LOG_PRETTY=1). Lines logged within a span carry `trace_id` and `span_id`. */
export const createLogger = (options: { name: string; level: string }): Logger => {
  const pretty = process.env.LOG_PRETTY === '1' || (process.stdout.isTTY && process.env.LOG_PRETTY !== '0')
  return pino({
    name: options.name,
    level: options.level,
    mixin: activeSpan,
    ...(pretty ? { transport: { target: 'pino-pretty', options: { ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l' } } } : {})
  })
}
