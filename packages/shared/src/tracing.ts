import { context, propagation, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { getNumberFromEnv, getStringFromEnv, W3CTraceContextPropagator } from '@opentelemetry/core'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { registerInstrumentations } from '@opentelemetry/instrumentation'
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http'
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg'
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources'
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  type Sampler,
  TraceIdRatioBasedSampler,
  TracerProvider
} from '@opentelemetry/sdk-trace'
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions'

// This module imports nothing of the kit: a service loads it before anything that requires `pg`
// or serves HTTP, so that the instrumentations are in place when those are loaded.

/** Probes and scrapes (GET /health, /ready, /metrics) would each be a trace of their own: not traced. */
const UNTRACED_PATHS = new Set(['/health', '/ready', '/metrics'])

/** Tracing is on when an OTLP endpoint is set (OTEL_EXPORTER_OTLP_ENDPOINT or …_TRACES_ENDPOINT) and OTEL_SDK_DISABLED is not `true`. */
export const tracingEnabled = (env: NodeJS.ProcessEnv = process.env) =>
  env.OTEL_SDK_DISABLED?.trim().toLowerCase() !== 'true' && Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)

let provider: TracerProvider | undefined

/** OTEL_TRACES_SAMPLER (and OTEL_TRACES_SAMPLER_ARG, the ratio) as the specification names them; `parentbased_always_on` by default. */
const samplerFromEnvironment = (): Sampler => {
  const ratio = getNumberFromEnv('OTEL_TRACES_SAMPLER_ARG') ?? 1
  const name = getStringFromEnv('OTEL_TRACES_SAMPLER') ?? 'parentbased_always_on'
  const samplers: Record<string, () => Sampler> = {
    always_on: () => new AlwaysOnSampler(),
    always_off: () => new AlwaysOffSampler(),
    traceidratio: () => new TraceIdRatioBasedSampler(ratio),
    parentbased_always_on: () => new ParentBasedSampler({ root: new AlwaysOnSampler() }),
    parentbased_always_off: () => new ParentBasedSampler({ root: new AlwaysOffSampler() }),
    parentbased_traceidratio: () => new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) })
  }
  const sampler = samplers[name]
  if (!sampler) throw new Error(`OTEL_TRACES_SAMPLER: '${name}' is none of ${Object.keys(samplers).join(', ')}`)
  return sampler()
}

/** The batch span processor's OTEL_BSP_* settings; the SDK's defaults for those not set. */
const batchSpanProcessor = () =>
  new BatchSpanProcessor({
    exporter: new OTLPTraceExporter(),
    scheduledDelayMillis: getNumberFromEnv('OTEL_BSP_SCHEDULE_DELAY'),
    exportTimeoutMillis: getNumberFromEnv('OTEL_BSP_EXPORT_TIMEOUT'),
    maxQueueSize: getNumberFromEnv('OTEL_BSP_MAX_QUEUE_SIZE'),
    maxExportBatchSize: getNumberFromEnv('OTEL_BSP_MAX_EXPORT_BATCH_SIZE')
  })

/**
 * Starts the OpenTelemetry SDK for `service` when `tracingEnabled()`, and does nothing otherwise
 * (no SDK, no instrumentation: the API's no-op tracer stays in place). Spans go in batches to the
 * OTLP/HTTP endpoint (JSON), configured by the standard OTEL_EXPORTER_OTLP_*, OTEL_BSP_* and
 * OTEL_TRACES_SAMPLER variables; the
 * resource is `service.name` = `service` unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES
 * says otherwise. Context crosses processes as W3C trace context (HTTP headers, and through
 * @marketmesh/events the outbox, AMQP headers and side effects). Incoming and outgoing HTTP (`node:http`) and
 * PostgreSQL queries made within a span are traced. Call it before `pg` and the app are loaded.
 * An OTEL_TRACES_SAMPLER it does not know stops the process, naming it.
 */
export const startTracing = (service: string): boolean => {
  if (provider || !tracingEnabled()) return false
  let sampler: Sampler
  try {
    sampler = samplerFromEnvironment()
  } catch (error) {
    // Before the app exists, so not through runService: the same one line, not a stack trace.
    process.stderr.write(`${service}: ${(error as Error).message}\n`)
    process.exit(1)
  }
  const resource = resourceFromAttributes({ [ATTR_SERVICE_NAME]: service }).merge(detectResources({ detectors: [envDetector] }))
  provider = new TracerProvider({ resource, sampler, spanProcessors: [batchSpanProcessor()] })
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  propagation.setGlobalPropagator(new W3CTraceContextPropagator())
  trace.setGlobalTracerProvider(provider)
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => UNTRACED_PATHS.has((request.url ?? '').split('?')[0]),
        requireParentforOutgoingSpans: true
      }),
      // The relay's and the consumers' polling runs outside any span: only queries within one are traced.
      new PgInstrumentation({ requireParentSpan: true, ignoreConnectSpans: true })
    ]
  })
  return true
}

/** Sends the spans not yet exported and stops the SDK (at shutdown); nothing to do when tracing is off. */
export const stopTracing = async () => {
  const stopping = provider
  provider = undefined
  await stopping?.shutdown()
}
