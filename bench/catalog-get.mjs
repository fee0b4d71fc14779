// bench/catalog-get: GET /products/:id on catalog-service (its own process, with its Redis read
// cache) under autocannon with 50 connections, against a bare Koa + pg server running the same
// query, in the same run, over 100,000 products with ids drawn from a Zipf distribution (s = 1).
// Both first get warm-up rounds as long as a measured one (JIT, connection pools, the baseline's
// PostgreSQL buffers, the cache), until the cache's hit ratio stops rising; then the two alternate
// over several rounds, so that a noisy
// neighbour on the machine hits both alike. Prints the median req/s and p99 of each, the CPU time
// each server process spent per request (less sensitive to a busy machine than req/s), the ratio
// (target: >= 3 times the bare baseline, p99 < 10 ms) and the cache's hit ratio. Then a mixed run,
// 95 % reads and 5 % PATCHes of the same products from 32 clients, printing operations/s and the
// stale answers seen: a read that started after a PATCH of its product had answered and shows an
// older version (must be 0).
// Usage: node bench/catalog-get.mjs [seconds per round=8] [rounds=3] [products=100000]   (after `npm run build`)
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { random, seedCatalog } from './support/catalog-data.mjs'
import { benchRun } from './support/bench-run.mjs'
import { freePort, waitUntil } from './support/processes.mjs'

const require = createRequire(import.meta.url)
const autocannon = require('autocannon')
const { createKnex } = require('@marketmesh/shared')
const { scrapedMetric } = require('@marketmesh/test-support/metrics')
const { accessToken } = require('@marketmesh/test-support/tokens')
const { Redis } = require('ioredis')

const SECONDS = Number(process.argv[2] ?? 8)
const ROUNDS = Number(process.argv[3] ?? 3)
const CONNECTIONS = 50
const PRODUCTS = Number(process.argv[4] ?? 100_000)
const MIXED_CLIENTS = 32
const WRITE_SHARE = 0.05
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const run = benchRun('get')
const { connection, prefix } = run
run.atRemoval('Redis keys', async () => {
  const redis = new Redis(REDIS_URL)
  for await (const keys of redis.scanStream({ match: `${prefix}:*`, count: 1_000 })) if (keys.length > 0) await redis.del(...keys)
  await redis.quit()
})

const startProcess = (args, env, readyUrl) => {
  const child = run.spawned(spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] }))
  return waitUntil(async () => (await fetch(readyUrl)).status < 500, readyUrl).then(() => child)
}

/**
 * Indexes into `count` products, Zipf-distributed (the product of rank k drawn in proportion to
 * 1/k): a few products take most reads, as in a shop. Seeded, so that every target gets the same sequence.
 */
const zipfDraws = (count, draws, seed = 11) => {
  const cumulative = new Float64Array(count)
  let sum = 0
  for (let k = 0; k < count; k++) cumulative[k] = sum += 1 / (k + 1)
  const r = random(seed)
  return Array.from({ length: draws }, () => {
    const ticket = r.next() * sum
    let low = 0
    let high = count - 1
    while (low < high) {
      const middle = (low + high) >> 1
      if (cumulative[middle] < ticket) low = middle + 1
      else high = middle
    }
    return low
  })
}

const load = (url, ids, duration) =>
  new Promise((resolve, reject) => {
    let next = 0
    autocannon(
      {
        url,
        connections: CONNECTIONS,
        duration,
        requests: [{ setupRequest: (request) => ({ ...request, path: `/products/${ids[draws[next++ % draws.length]]}` }) }]
      },
      (error, result) => (error ? reject(error) : resolve(result))
    )
  })

/** CPU time (user + system) a process has spent, in ms (/proc/<pid>/stat counts clock ticks of 10 ms). */
const cpuMs = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10
}

const measure = async ({ name, url, pid }, ids) => {
  const cpuBefore = cpuMs(pid)
  const result = await load(url, ids, SECONDS)
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${name}: ${result.non2xx} non-2xx responses, ${result.errors} errors`)
  const cpuUs = ((cpuMs(pid) - cpuBefore) * 1000) / result.requests.total
  return { rps: result.requests.average, p99: result.latency.p99, p50: result.latency.p50, cpuUs }
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

let draws = []
try {
  const servicePort = await freePort()
  const opsPort = await freePort()
  const opsUrl = `http://127.0.0.1:${opsPort}`
  const service = await startProcess(
    [join(root, 'packages/catalog-service/lib/src/index.js')],
    {
      DATABASE_URL: connection,
      AMQP_PREFIX: prefix,
      PORT: String(servicePort),
      // Its /metrics on a free port: port + 1000 may be taken.
      OPS_PORT: String(opsPort),
      REDIS_URL,
      CACHE_KEY_PREFIX: prefix,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn'
    },
    `http://127.0.0.1:${servicePort}/ready`
  )

  const db = createKnex({ client: 'pg', connection, pool: { min: 0, max: 2 } })
  await seedCatalog(db, PRODUCTS)
  // Products a buyer can see: active, not removed, of a seller who is not disabled.
  const listed = (
    await db.raw(`SELECT p.id, p."sellerId" FROM products p JOIN sellers s ON s.id = p."sellerId"
    WHERE p.status = 'active' AND p."deletedAt" IS NULL AND s.status = 'active' ORDER BY p.id`)
  ).rows
  await db.destroy()
  const ids = listed.map((row) => row.id)
  draws = zipfDraws(ids.length, 1_000_000)

  const baselinePort = await freePort()
  const baseline = await startProcess(
    [join(here, 'support', 'catalog-get-baseline.mjs'), String(baselinePort), connection],
    {},
    `http://127.0.0.1:${baselinePort}/products/${ids[0]}`
  )

  console.log(
    `bench/catalog-get: GET /products/:id, ${CONNECTIONS} connections, ${ROUNDS} alternating rounds of ${SECONDS} s, ${PRODUCTS} products, ids drawn Zipf-distributed from the ${ids.length} listed`
  )
  const targets = [
    { name: 'bare Koa + pg', url: `http://127.0.0.1:${baselinePort}`, pid: baseline.pid, rounds: [] },
    { name: 'catalog-service', url: `http://127.0.0.1:${servicePort}`, pid: service.pid, rounds: [] }
  ]
  const cacheCount = async (name) => scrapedMetric(opsUrl, name, { kind: 'product' })
  const hitRatio = async (since) => {
    const [hits, misses] = [(await cacheCount('cache_hits_total')) - since.hits, (await cacheCount('cache_misses_total')) - since.misses]
    return { hits, misses, percent: (100 * hits) / (hits + misses) }
  }
  const countsNow = async () => ({ hits: await cacheCount('cache_hits_total'), misses: await cacheCount('cache_misses_total') })
  // Warm-up rounds of both until the cache's hit ratio stops rising (a Zipf tail takes a while to
  // be cached, as in a service that has run for some minutes; the baseline's PostgreSQL buffers hold
  // the whole table after one round), at most 8.
  const warmUp = []
  for (let round = 0; round < 8; round++) {
    const since = await countsNow()
    for (const target of targets) await load(target.url, ids, SECONDS)
    warmUp.push((await hitRatio(since)).percent)
    if (warmUp.length > 1 && warmUp.at(-1) - warmUp.at(-2) < 1) break
  }
  console.log(`  warm-up: ${warmUp.length} rounds of both, the cache's hit ratio ${warmUp.map((percent) => `${percent.toFixed(1)}%`).join(' → ')}`)
  const before = await countsNow()
  for (let round = 0; round < ROUNDS; round++) {
    for (const target of targets) target.rounds.push(await measure(target, ids))
  }
  const [baselineFigures, catalog] = targets.map(({ name, rounds }) => ({
    name,
    rps: median(rounds.map((r) => r.rps)),
    p50: median(rounds.map((r) => r.p50)),
    p99: median(rounds.map((r) => r.p99)),
    cpuUs: median(rounds.map((r) => r.cpuUs)),
    all: rounds.map((r) => Math.round(r.rps)).join(', ')
  }))
  for (const { name, rps, p50, p99, cpuUs, all } of [baselineFigures, catalog]) {
    console.log(
      `  ${name.padEnd(16)} ${Math.round(rps).toString().padStart(6)} req/s   p50 ${p50} ms   p99 ${p99} ms   CPU ${Math.round(cpuUs)} µs/request   (rounds: ${all} req/s)`
    )
  }
  const { hits, misses, percent } = await hitRatio(before)
  console.log(`  cache hit ratio over the measured rounds: ${percent.toFixed(1)}% (${hits} hits, ${misses} misses)`)
  const ratio = catalog.rps / baselineFigures.rps
  const met = ratio >= 3 && catalog.p99 < 10
  console.log(`ratio catalog/baseline: ${ratio.toFixed(2)}   target: >= 3 and p99 < 10 ms -> ${met ? 'met' : 'NOT met'}`)

  await mixedRun(`http://127.0.0.1:${servicePort}`, listed)
} finally {
  await run.remove()
}

/**
 * 95 % reads, 5 % price changes by the product's seller, on the same Zipf-drawn products. A read
 * is stale when it started after a PATCH of its product had answered with version v and shows a
 * version below v.
 */
async function mixedRun(url, listed) {
  const answered = new Map() // product id -> the highest version a PATCH of it answered with
  const tokens = new Map()
  const tokenOf = (sellerId) => {
    if (!tokens.has(sellerId)) tokens.set(sellerId, `Bearer ${accessToken({ id: sellerId, role: 'seller', sellerId })}`)
    return tokens.get(sellerId)
  }
  const r = random(5)
  let next = 0
  let reads = 0
  let writes = 0
  let stale = 0
  const ends = Date.now() + SECONDS * 1000 * 2
  const started = Date.now()
  await Promise.all(
    Array.from({ length: MIXED_CLIENTS }, async () => {
      while (Date.now() < ends) {
        const { id, sellerId } = listed[draws[next++ % draws.length]]
        if (r.next() < WRITE_SHARE) {
          const response = await fetch(`${url}/products/${id}`, {
            method: 'PATCH',
            headers: { 'Content-Type': 'application/json', Authorization: tokenOf(sellerId) },
            body: JSON.stringify({ price: 100 + Math.floor(r.next() * 100_000) })
          })
          const body = await response.json()
          if (response.status !== 200) throw new Error(`PATCH ${id}: ${response.status} ${JSON.stringify(body)}`)
          answered.set(id, Math.max(answered.get(id) ?? 0, body.version))
          writes++
        } else {
          const floor = answered.get(id) ?? 0
          const response = await fetch(`${url}/products/${id}`)
          const body = await response.json()
          if (response.status !== 200) throw new Error(`GET ${id}: ${response.status} ${JSON.stringify(body)}`)
          if (body.version < floor) stale++
          reads++
        }
      }
    })
  )
  const seconds = (Date.now() - started) / 1000
  console.log(
    `mixed 95/5, ${MIXED_CLIENTS} clients, ${seconds.toFixed(0)} s: ${Math.round((reads + writes) / seconds)} operations/s ` +
      `(${Math.round(reads / seconds)} reads/s, ${Math.round(writes / seconds)} writes/s); stale answers: ${stale} of ${reads} reads -> ${stale === 0 ? 'met' : 'NOT met'}`
  )
}
