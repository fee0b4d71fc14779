// bench/catalog-get: GET /products/:id on catalog-service (its own process) under autocannon with
// 50 connections, against a bare Koa + pg server running the same query, in the same run.
// The two alternate over several rounds, so that a noisy neighbour on the machine hits both alike;
// prints the median req/s and p99 of each and the ratio (target: >= 0.75 of the bare baseline).
// Usage: node bench/catalog-get.mjs [seconds per round=8] [rounds=3]   (after `npm run build`)
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { seedCatalog } from './support/catalog-data.mjs'
import { benchRun } from './support/bench-run.mjs'
import { freePort, waitUntil } from './support/processes.mjs'

const require = createRequire(import.meta.url)
const autocannon = require('autocannon')
const { createKnex } = require('@marketmesh/shared')

const SECONDS = Number(process.argv[2] ?? 8)
const ROUNDS = Number(process.argv[3] ?? 3)
const CONNECTIONS = 50
const PRODUCTS = 10_000
const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const run = benchRun('get')
const { connection, prefix } = run

const startProcess = (args, env, readyUrl) => {
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] })
  return waitUntil(async () => (await fetch(readyUrl)).status < 500, readyUrl).then(() => child)
}

const load = (url, ids, duration) =>
  new Promise((resolve, reject) => {
    let next = 0
    autocannon(
      {
        url,
        connections: CONNECTIONS,
        duration,
        requests: [{ setupRequest: (request) => ({ ...request, path: `/products/${ids[next++ % ids.length]}` }) }]
      },
      (error, result) => (error ? reject(error) : resolve(result))
    )
  })

const measure = async (name, url, ids) => {
  const result = await load(url, ids, SECONDS)
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${name}: ${result.non2xx} non-2xx responses, ${result.errors} errors`)
  return { rps: result.requests.average, p99: result.latency.p99, p50: result.latency.p50 }
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

const children = []
try {
  const servicePort = await freePort()
  const service = await startProcess(
    [join(root, 'packages/catalog-service/lib/src/index.js')],
    {
      DATABASE_URL: connection,
      AMQP_PREFIX: prefix,
      PORT: String(servicePort),
      // Its /metrics on any free port: port + 1000 may be taken.
      OPS_PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn'
    },
    `http://127.0.0.1:${servicePort}/ready`
  )
  children.push(service)

  const db = createKnex({ client: 'pg', connection, pool: { min: 0, max: 2 } })
  await seedCatalog(db, PRODUCTS)
  // Products a buyer can see: active, not removed, of a seller who is not disabled.
  const ids = (
    await db.raw(`SELECT p.id FROM products p JOIN sellers s ON s.id = p."sellerId"
    WHERE p.status = 'active' AND p."deletedAt" IS NULL AND s.status = 'active' ORDER BY random() LIMIT 5000`)
  ).rows.map((row) => row.id)
  await db.destroy()

  const baselinePort = await freePort()
  children.push(
    await startProcess(
      [join(here, 'support', 'catalog-get-baseline.mjs'), String(baselinePort), connection],
      {},
      `http://127.0.0.1:${baselinePort}/products/${ids[0]}`
    )
  )

  console.log(
    `bench/catalog-get: GET /products/:id, ${CONNECTIONS} connections, ${ROUNDS} alternating rounds of ${SECONDS} s, ${PRODUCTS} products, ids drawn from ${ids.length}`
  )
  const targets = [
    { name: 'bare Koa + pg', url: `http://127.0.0.1:${baselinePort}`, rounds: [] },
    { name: 'catalog-service', url: `http://127.0.0.1:${servicePort}`, rounds: [] }
  ]
  for (const target of targets) await load(target.url, ids, 3) // warm-up: JIT, pools, caches
  for (let round = 0; round < ROUNDS; round++) {
    for (const target of targets) target.rounds.push(await measure(target.name, target.url, ids))
  }
  const [baseline, catalog] = targets.map(({ name, rounds }) => ({
    name,
    rps: median(rounds.map((r) => r.rps)),
    p50: median(rounds.map((r) => r.p50)),
    p99: median(rounds.map((r) => r.p99)),
    all: rounds.map((r) => Math.round(r.rps)).join(', ')
  }))
  for (const { name, rps, p50, p99, all } of [baseline, catalog]) {
    console.log(`  ${name.padEnd(16)} ${Math.round(rps).toString().padStart(6)} req/s   p50 ${p50} ms   p99 ${p99} ms   (rounds: ${all} req/s)`)
  }
  const ratio = catalog.rps / baseline.rps
  console.log(`ratio catalog/baseline: ${ratio.toFixed(2)}   target: >= 0.75 -> ${ratio >= 0.75 ? 'met' : 'NOT met'}`)
} finally {
  for (const child of children) child.kill('SIGKILL')
  await run.remove()
}
