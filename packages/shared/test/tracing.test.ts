import { describe, expect, it } from 'vitest'
import { tracingEnabled } from '../src/tracing'

// Whether a service starts the OpenTelemetry SDK at all; what it then sends is test/tracing.test.ts.
describe('tracingEnabled', () => {
  it('is off by default: without an OTLP endpoint no SDK starts', () => {
    expect(tracingEnabled({})).toBe(false)
    expect(tracingEnabled({ OTEL_SERVICE_NAME: 'order-service', OTEL_TRACES_SAMPLER: 'always_on' })).toBe(false)
  })

  it('is on with OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', () => {
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toBe(true)
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' })).toBe(true)
  })

  it('is off with OTEL_SDK_DISABLED=true whatever the endpoint, as the specification says', () => {
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' })).toBe(false)
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: ' TRUE ' })).toBe(false)
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'false' })).toBe(true)
  })
})
