import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

/** One span as an OTLP/HTTP exporter sent it, with its service's name. */
export interface ReceivedSpan {
  service: string
  traceId: string
  spanId: string
  /** Empty for a trace's root. */
  parentSpanId: string
  name: string
  /** OTLP's SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number
  attributes: Record<string, string | number | boolean>
  startTimeUnixNano: string
}

interface OtlpValue {
  stringValue?: string
  intValue?: string | number
  doubleValue?: number
  boolValue?: boolean
}
type OtlpAttributes = Array<{ key: string; value: OtlpValue }> | undefined
interface OtlpExport {
  resourceSpans?: Array<{
    resource?: { attributes?: OtlpAttributes }
    scopeSpans?: Array<{
      spans?: Array<{
        traceId: string
        spanId: string
        parentSpanId?: string
        name: string
        kind?: number
        attributes?: OtlpAttributes
        startTimeUnixNano: string | number
      }>
    }>
  }>
}

const valueOf = ({ stringValue, intValue, doubleValue, boolValue }: OtlpValue) =>
  stringValue ?? (intValue !== undefined ? Number(intValue) : (doubleValue ?? boolValue ?? ''))

const attributesOf = (attributes: OtlpAttributes) => Object.fromEntries((attributes ?? []).map(({ key, value }) => [key, valueOf(value)]))

/** OTLP/JSON carries ids as hex; an exporter that sends them base64 (as protobuf's JSON mapping would) is read too. */
const hexId = (id: string | undefined) => (!id ? '' : /^[0-9a-f]+$/i.test(id) ? id.toLowerCase() : Buffer.from(id, 'base64').toString('hex'))

/** The spans of one OTLP/HTTP JSON export request (`POST /v1/traces`). */
export const spansOfExport = (body: OtlpExport): ReceivedSpan[] =>
  (body.resourceSpans ?? []).flatMap(({ resource, scopeSpans }) => {
    const service = String(attributesOf(resource?.attributes)['service.name'] ?? '')
    return (scopeSpans ?? []).flatMap(({ spans }) =>
      (spans ?? []).map((span) => ({
        service,
        traceId: hexId(span.traceId),
        spanId: hexId(span.spanId),
        parentSpanId: hexId(span.parentSpanId),
        name: span.name,
        kind: span.kind ?? 0,
        attributes: attributesOf(span.attributes),
        startTimeUnixNano: String(span.startTimeUnixNano)
      }))
    )
  })

/**
 * A local OTLP/HTTP trace receiver, as a collector would be: it takes `POST /v1/traces` in JSON
 * (the encoding of @opentelemetry/exporter-trace-otlp-http), answers 200 and keeps the spans.
 * Anything else is a 404 or, another encoding, a 415, so an exporter set up wrong fails to export.
 * With `keepSpans: false` (a bench's load) it only counts them.
 */
export const startOtlpReceiver = async ({ keepSpans = true } = {}) => {
  const spans: ReceivedSpan[] = []
  let spanCount = 0
  const server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      if (request.method !== 'POST' || request.url !== '/v1/traces') return response.writeHead(404).end()
      if (!String(request.headers['content-type']).startsWith('application/json')) return response.writeHead(415).end()
      try {
        const received = spansOfExport(JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpExport)
        if (keepSpans) spans.push(...received)
        spanCount += received.length
        response.writeHead(200, { 'Content-Type': 'application/json' }).end('{}')
      } catch {
        response.writeHead(400).end()
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    /** The OTEL_EXPORTER_OTLP_ENDPOINT to give the services. */
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    /** How many spans they carried. */
    spanCount: () => spanCount,
    /** The spans of one trace. */
    trace: (traceId: string) => spans.filter((span) => span.traceId === traceId),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

export type OtlpReceiver = Awaited<ReturnType<typeof startOtlpReceiver>>

/**
 * A trace as a tree, one span a line, each under its parent, in start order:
 * `order-service  POST /checkouts` then, indented, its children.
 */
export const traceTree = (spans: ReceivedSpan[]) => {
  const ids = new Set(spans.map((span) => span.spanId))
  const byStart = [...spans].sort((a, b) => (BigInt(a.startTimeUnixNano) < BigInt(b.startTimeUnixNano) ? -1 : 1))
  const lines: string[] = []
  const walk = (span: ReceivedSpan, depth: number) => {
    lines.push(`${'  '.repeat(depth)}${span.name}  [${span.service}]`)
    for (const child of byStart.filter((candidate) => candidate.parentSpanId === span.spanId)) walk(child, depth + 1)
  }
  // A span whose parent was not received (not yet exported, or from another trace's process) is shown as a root.
  for (const root of byStart.filter((span) => !ids.has(span.parentSpanId))) walk(root, 0)
  return lines.join('\n')
}
