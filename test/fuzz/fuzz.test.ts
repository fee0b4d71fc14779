import { afterAll, beforeAll, expect, it } from 'vitest'
import { hasKeys } from '@marketmesh/test-support/leaks'
import { probeQueries } from './probe'
import { fuzzService, type AnswerCheck, type FuzzReport } from './run'
import { seed, type Seeded } from './seed'
import { startStack, type RunningService, type Stack } from './stack'

// `npm test` sends a few thousand requests in all; `npm run test:fuzz` many more. FUZZ_SEED replays a run.
const RUNS = Number(process.env.FUZZ_RUNS ?? 3_000)
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31))

let stack: Stack
let seeded: Seeded

beforeAll(async () => {
  stack = await startStack()
  seeded = await seed(stack)
}, 120_000)

afterAll(async () => {
  await stack?.stop(seeded?.databases)
})

/** Each service's share of the runs follows its routes, so that order and notify get more as they grow. */
const runsOf = (service: RunningService, all: RunningService[]) => {
  const weight = (one: RunningService) => one.routes.length + 1
  return Math.ceil((RUNS * weight(service)) / all.reduce((sum, one) => sum + weight(one), 0))
}

/** A review's buyer and order are for its author and admins only. */
const reviewPrivacy =
  (author: string): AnswerCheck =>
  (request, body) =>
    request.url.startsWith('/reviews') && !['admin', author].includes(request.credential) && hasKeys(body, ['buyerId', 'orderId'])
      ? `shows a review's buyerId or orderId to ${request.credential}`
      : undefined

const describeViolations = (reports: FuzzReport[]) => {
  const seen = new Map<string, { line: string; count: number }>()
  for (const { service, violations } of reports) {
    for (const { request, status, problem, body, logged } of violations) {
      const route = request.url.split('?')[0].split('/').slice(0, 2).join('/')
      const key = `${service} ${request.method} ${route} ${status} ${problem} ${body?.slice(0, 60)}`
      const line = `${service}: ${request.method} ${request.url.slice(0, 300)} as ${request.credential} ${JSON.stringify(request.headers)} body ${request.body?.slice(0, 200)} -> ${status}: ${problem}: ${body?.slice(0, 300)}${logged ? ` (logged: ${logged})` : ''}`
      const entry = seen.get(key) ?? { line, count: 0 }
      entry.count++
      seen.set(key, entry)
    }
  }
  return [...seen.values()].map(({ line, count }) => `${count}x ${line}`)
}

it(
  'every endpoint of every service answers generated requests without a 5xx, a hang or a leak, and stays ready',
  async () => {
    console.log(`fuzz: seed ${SEED} (replay with FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS})`)
    const reports = await Promise.all(
      stack.services.map((service, index) =>
        fuzzService(service, seeded, { seed: SEED + index, runs: runsOf(service, stack.services), check: reviewPrivacy(seeded.reviewAuthor) })
      )
    )
    for (const report of reports) {
      console.log(
        `fuzz: ${report.service}: ${report.requests} requests, ${report.serverErrors} 5xx, max latency ${Math.round(report.maxLatencyMs)} ms, statuses ${JSON.stringify(report.statuses)}`
      )
    }
    expect(describeViolations(reports), `replay with FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS}`).toEqual([])
  },
  Math.max(120_000, RUNS * 100)
)

it('every method of every service validates its query: an unknown field is refused, naming it', async () => {
  const probes = await Promise.all(stack.services.map((service) => probeQueries(service, seeded)))
  console.log(`fuzz: query probe: ${probes.reduce((sum, probe) => sum + probe.requests, 0)} requests`)
  expect(probes.flatMap((probe) => probe.findings)).toEqual([])
})
