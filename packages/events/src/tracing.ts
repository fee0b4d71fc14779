import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api'

// Only the OpenTelemetry API: without an SDK registered (`startTracing` of @marketmesh/shared, off
// unless OTEL_EXPORTER_OTLP_ENDPOINT is set) its tracer makes non-recording spans and its
// propagator writes nothing, so a process that does not trace stores and sends no trace context.
// Asked for at each span, not kept from load: the SDK registers after this module may have loaded,
// and a copy of the API loaded another way (ESM beside CJS) sees it only through the global registry.
const tracer = () => trace.getTracer('@marketmesh/events')

/** The header (AMQP) and column (outbox, side effects) that carry a span's W3C trace context. */
export const TRACEPARENT = 'traceparent'

export { SpanKind, SpanStatusCode }

/**
 * The W3C `traceparent` of the span active in the caller, or null when there is none (tracing off).
 * A span not sampled passes that on too, so the services downstream leave its trace out whole.
 */
export const currentTraceparent = (): string | null => {
  if (!trace.getActiveSpan()) return null
  const carrier: Record<string, string> = {}
  propagation.inject(context.active(), carrier)
  return carrier[TRACEPARENT] ?? null
}

/** The W3C `traceparent` of `span`. */
export const traceparentOf = (span: Span): string | null => {
  const carrier: Record<string, string> = {}
  propagation.inject(trace.setSpan(context.active(), span), carrier)
  return carrier[TRACEPARENT] ?? null
}

/** The order or checkout that an event's data or an effect's payload is about, when it names one. */
export const subjectAttributes = (data: unknown): Attributes => {
  const { orderId, checkoutId } = (data ?? {}) as { orderId?: unknown; checkoutId?: unknown }
  return {
    ...(typeof orderId === 'string' && { 'marketmesh.order_id': orderId }),
    ...(typeof checkoutId === 'string' && { 'marketmesh.checkout_id': checkoutId })
  }
}

export const eventAttributes = (type: string, data: unknown): Attributes => ({ 'marketmesh.event_type': type, ...subjectAttributes(data) })

export interface SpanOptions {
  kind?: SpanKind
  attributes?: Attributes
  /**
   * The parent's W3C `traceparent` (read from a row or a message: the work continues a trace that
   * began elsewhere); undefined: the span active in the caller; null: none was stored, a new trace.
   */
  parent?: string | null
}

const parentContext = (parent: SpanOptions['parent']) =>
  parent === undefined ? context.active() : propagation.extract(ROOT_CONTEXT, { [TRACEPARENT]: parent ?? '' })

/** A span for work that is not a function call (a frame handed to open streams): the caller ends it. */
export const startSpan = (name: string, options: SpanOptions): Span =>
  tracer().startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes }, parentContext(options.parent))

/**
 * Runs `work` in a span named `name`, active through every `await` inside it, so that what it
 * writes (outbox rows, side effects) and logs carries the span. A throw ends it as an error.
 */
export const inSpan = <T>(name: string, options: SpanOptions, work: (span: Span) => Promise<T>): Promise<T> => {
  const parent = parentContext(options.parent)
  return tracer().startActiveSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes }, parent, async (span) => {
    try {
      return await work(span)
    } catch (error) {
      span.recordException(error as Error)
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message })
      throw error
    } finally {
      span.end()
    }
  })
}
