import { context, propagation, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace'
import { describe, expect, it } from 'vitest'
import { waitFor } from '@marketmesh/test-support'
import { afterThisTest, CONSUMER, emitInTransaction, twoServices, watchEverything } from './helpers'

const TRACED_EFFECT = 'traced-effect'

/** A consumer whose handler schedules a side effect, each noting the span it runs in. */
const tracedPair = async () => {
  const services = await twoServices()
  const handledIn: string[] = []
  const performedIn: string[] = []
  services.consumer.bus.on('order.created', async (event, { schedule }) => {
    handledIn.push(trace.getActiveSpan()?.spanContext().spanId ?? 'none')
    await schedule(TRACED_EFFECT, event.id, { orderId: event.data.orderId })
  })
  services.consumer.bus.effects.perform(TRACED_EFFECT, async () => {
    performedIn.push(trace.getActiveSpan()?.spanContext().spanId ?? 'none')
  })
  await services.consumer.bus.start()
  await services.consumer.bus.whenConsuming()
  await services.publisher.bus.start()
  return { ...services, handledIn, performedIn }
}

// In file order: the first without an SDK (as every service runs unless OTEL_EXPORTER_OTLP_ENDPOINT
// is set), the second with one registered in this process, as `startTracing` registers it.
describe('trace context through the event backbone', () => {
  it('stores and sends none without an SDK: no span, no traceparent column, no header', async () => {
    const { prefix, publisher, consumer, handledIn, performedIn } = await tracedPair()
    const { headers } = await watchEverything(prefix)
    await emitInTransaction(publisher.bus, publisher.db)
    await waitFor(() => performedIn.length === 1 && headers.length === 1, { what: 'the event handled and its effect performed' })
    expect(await publisher.db('outbox').pluck('traceparent')).toEqual([null])
    expect(await consumer.db('side_effects').pluck('traceparent')).toEqual([null])
    expect(headers[0]).not.toHaveProperty('traceparent')
    expect(handledIn).toEqual(['none'])
    expect(performedIn).toEqual(['none'])
  })

  it('continues the writer’s span: publish under it, the handler under the publish, the effect under the handler', async () => {
    const exporter = new InMemorySpanExporter()
    const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] })
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
    propagation.setGlobalPropagator(new W3CTraceContextPropagator())
    trace.setGlobalTracerProvider(provider)
    afterThisTest(() => provider.shutdown())

    const { prefix, publisher, consumer, handledIn, performedIn } = await tracedPair()
    const { headers } = await watchEverything(prefix)
    const request = provider.getTracer('test').startSpan('POST /checkouts')
    const [event] = await context.with(trace.setSpan(context.active(), request), () => emitInTransaction(publisher.bus, publisher.db))
    request.end()
    await waitFor(() => performedIn.length === 1 && headers.length === 1, { what: 'the event handled and its effect performed' })

    const { traceId, spanId } = request.spanContext()
    expect(await publisher.db('outbox').pluck('traceparent')).toEqual([`00-${traceId}-${spanId}-01`])
    const spans = exporter.getFinishedSpans()
    const named = (name: string) => {
      const found = spans.filter((span) => span.name === name)
      expect(found, name).toHaveLength(1)
      return found[0]
    }
    const publish = named('publish order.created')
    expect(publish.parentSpanContext?.spanId).toBe(spanId)
    expect(publish.attributes).toMatchObject({
      'marketmesh.event_type': 'order.created',
      'marketmesh.order_id': event.data.orderId,
      'messaging.message.id': event.id
    })
    expect(headers[0].traceparent).toBe(`00-${traceId}-${publish.spanContext().spanId}-01`)

    const handled = named('process order.created')
    expect(handled.parentSpanContext?.spanId).toBe(publish.spanContext().spanId)
    expect(handled.attributes).toMatchObject({ 'marketmesh.consumer': CONSUMER, 'marketmesh.order_id': event.data.orderId })
    expect(handledIn).toEqual([handled.spanContext().spanId])
    expect(await consumer.db('side_effects').pluck('traceparent')).toEqual([`00-${traceId}-${handled.spanContext().spanId}-01`])

    const effect = named(`effect ${TRACED_EFFECT}`)
    expect(effect.parentSpanContext?.spanId).toBe(handled.spanContext().spanId)
    expect(effect.attributes).toMatchObject({
      'marketmesh.side_effect': TRACED_EFFECT,
      'marketmesh.order_id': event.data.orderId,
      'marketmesh.attempt': 1
    })
    expect(performedIn).toEqual([effect.spanContext().spanId])
    expect(new Set(spans.map((span) => span.spanContext().traceId))).toEqual(new Set([traceId]))
  })
})
