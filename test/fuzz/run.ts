import { appendFileSync } from 'node:fs'
import fc from 'fast-check'
import { requestArbitrary, type FuzzRequest, type Target } from './arbitraries'
import { OPENAPI_PATH } from '@marketmesh/shared'
import { errorBodyProblem, internalKeysIn } from '@marketmesh/test-support/leaks'
import type { RunningService } from './stack'

/** Slower than this is a hang. */
export const LATENCY_LIMIT_MS = 5_000
const READY_EVERY = 250

export interface Violation {
  request: FuzzRequest
  status?: number
  problem: string
  body?: string
  /** What the service logged about a server error. */
  logged?: string
}

/** A check of a successful answer beyond the generic ones (e.g. whose fields a caller may see). */
export type AnswerCheck = (request: FuzzRequest, body: unknown) => string | undefined

export interface FuzzReport {
  service: string
  requests: number
  statuses: Record<number, number>
  serverErrors: number
  maxLatencyMs: number
  violations: Violation[]
}

/** %XX sequences as the bytes they stand for, read as UTF-8: what the service saw. */
const decodeUrl = (url: string) =>
  Buffer.from(
    url.replace(/%([0-9A-F]{2})/gi, (_, hex) => String.fromCharCode(parseInt(hex, 16))),
    'latin1'
  ).toString('utf8')

const send = async (service: RunningService, request: FuzzRequest, authorization: string | undefined, requestId: string) => {
  const withBody = request.body !== undefined && !['GET', 'HEAD'].includes(request.method)
  const headers: Record<string, string> = {
    'X-Request-Id': requestId,
    ...(withBody ? { 'Content-Type': 'application/json' } : {}),
    ...(authorization ? { Authorization: authorization } : {}),
    ...request.headers
  }
  const started = performance.now()
  const response = await fetch(`${service.url}${request.url}`, {
    method: request.method,
    headers,
    body: withBody ? request.body : undefined,
    redirect: 'manual',
    signal: AbortSignal.timeout(LATENCY_LIMIT_MS + 1_000)
  })
  // A stream (SSE) answers with its headers and goes on: its latency is the time to them.
  const streaming = response.headers.get('content-type')?.startsWith('text/event-stream')
  const text = streaming ? (await response.body?.cancel(), '') : await response.text()
  return { status: response.status, type: response.headers.get('content-type') ?? '', text, latencyMs: performance.now() - started }
}

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

const problemOf = (request: FuzzRequest, reply: Awaited<ReturnType<typeof send>>, check?: AnswerCheck) => {
  if (reply.status >= 500) return 'server error'
  if (reply.latencyMs > LATENCY_LIMIT_MS) return `took ${Math.round(reply.latencyMs)} ms`
  const body = reply.type.includes('json') ? parse(reply.text) : undefined
  if (reply.status >= 400 && request.method !== 'HEAD') {
    return errorBodyProblem(body, reply.text, `${decodeUrl(request.url)} ${request.body ?? ''} ${JSON.stringify(request.headers)}`)
  }
  // The OpenAPI document names the fields requests take (`password`): it describes them, it shows no one's.
  if (reply.status < 300 && body !== undefined && request.url.split('?')[0] !== OPENAPI_PATH) {
    const internal = [...internalKeysIn(body)]
    if (internal.length > 0) return `answer shows ${internal.join(', ')}`
    return check?.(request, body)
  }
  return undefined
}

/** The error a service logged for a request (a 5xx's cause), from its JSON log lines. */
const errorLogged = (service: RunningService, requestId: string) => {
  const line = service
    .output()
    .split('\n')
    .find((entry) => entry.includes(`"requestId":"${requestId}"`) && entry.includes('"err":'))
  const err = line ? (JSON.parse(line) as { err?: { message?: string; stack?: string } }).err : undefined
  return err?.stack?.split('\n').slice(0, 4).join(' | ') ?? err?.message
}

const readyProblem = async (service: RunningService) => {
  if (service.child.exitCode !== null || service.child.signalCode !== null) return `exited (${service.child.exitCode ?? service.child.signalCode})`
  try {
    const response = await fetch(`${service.url}/ready`, { signal: AbortSignal.timeout(LATENCY_LIMIT_MS) })
    return response.status === 200 ? undefined : `/ready answered ${response.status}: ${await response.text()}`
  } catch (error) {
    return `/ready did not answer: ${(error as Error).message}`
  }
}

/**
 * Sends `runs` requests generated from `seed` to one service, one at a time (so that a seed
 * replays the same run), and reports every answer that breaks a rule: a 5xx, a hang, an error
 * without a message or with internals, internal fields in an answer, a service no longer ready.
 */
export const fuzzService = async (
  service: RunningService,
  { ids, fields, examples, credentials }: Pick<Target, 'ids' | 'fields' | 'examples'> & { credentials: Record<string, string | undefined> },
  { seed, runs, check }: { seed: number; runs: number; check?: AnswerCheck }
): Promise<FuzzReport> => {
  const target: Target = { ids, fields, examples, credentials: Object.keys(credentials), routes: service.routes, httpPaths: service.httpPaths }
  const requests = fc.sample(requestArbitrary(target), { seed, numRuns: runs })
  const report: FuzzReport = { service: service.name, requests: 0, statuses: {}, serverErrors: 0, maxLatencyMs: 0, violations: [] }
  for (const [index, request] of requests.entries()) {
    const requestId = `fuzz-${seed}-${index}`
    try {
      const reply = await send(service, request, credentials[request.credential], requestId)
      report.requests++
      report.statuses[reply.status] = (report.statuses[reply.status] ?? 0) + 1
      report.maxLatencyMs = Math.max(report.maxLatencyMs, reply.latencyMs)
      if (reply.status >= 500) report.serverErrors++
      // FUZZ_LOG=<file>: every request and its answer as a JSON line, to see what the fuzz reaches.
      if (process.env.FUZZ_LOG)
        appendFileSync(
          process.env.FUZZ_LOG,
          `${JSON.stringify({ service: service.name, request, status: reply.status, answer: reply.text.slice(0, 300) })}\n`
        )
      const problem = problemOf(request, reply, check)
      if (problem)
        report.violations.push({
          request,
          status: reply.status,
          problem,
          body: reply.text.slice(0, 500),
          logged: reply.status >= 500 ? errorLogged(service, requestId) : undefined
        })
    } catch (error) {
      report.requests++
      report.violations.push({ request, problem: `no answer: ${(error as Error).message}` })
    }
    if ((index + 1) % READY_EVERY === 0 || index === requests.length - 1) {
      const problem = await readyProblem(service)
      if (problem) {
        report.violations.push({ request, problem: `not ready after it: ${problem}` })
        break
      }
    }
  }
  return report
}
