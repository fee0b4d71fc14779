// bench/images: product image uploads through catalog-service (its own process, the local store):
// N uploads of a 2400×1600 JPEG photo, 8 at a time, each asked for, PUT and completed, timed until
// every one is `ready` (checked, stripped, six variants and the original written), as uploads
// processed per second; then GETs of the images' files under autocannon (50 connections) from
// catalog-service's /media and from a plain static file server over the same folder, in the same
// run, alternating rounds, with the ratio.
// Usage: node bench/images.mjs [uploads=20] [seconds per round=5] [rounds=3]   (after `npm run build`)
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { randomUUID } from 'node:crypto'
import { benchRun } from './support/bench-run.mjs'
import { freePort, waitUntil } from './support/processes.mjs'

const require = createRequire(import.meta.url)
const autocannon = require('autocannon')
const sharp = require('sharp')
const { accessToken } = require('@marketmesh/test-support/tokens')

const UPLOADS = Number(process.argv[2] ?? 20)
const SECONDS = Number(process.argv[3] ?? 5)
const ROUNDS = Number(process.argv[4] ?? 3)
const AT_ONCE = 8
const CONNECTIONS = 50
const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const run = benchRun('images')
const { connection, prefix } = run

const startProcess = (args, env, readyUrl) => {
  const child = run.spawned(spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] }))
  return waitUntil(async () => (await fetch(readyUrl)).status < 500, readyUrl).then(() => child)
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

const folder = await mkdtemp(join(tmpdir(), 'mmbench-media-'))
run.atRemoval(`media folder ${folder}`, () => rm(folder, { recursive: true, force: true }))
try {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  await startProcess(
    [join(root, 'packages/catalog-service/lib/src/index.js')],
    {
      DATABASE_URL: connection,
      AMQP_PREFIX: prefix,
      PORT: String(port),
      OPS_PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      MEDIA_DIRECTORY: folder,
      MEDIA_UPLOAD_RATE_LIMIT_PER_MINUTE: '1000000',
      MEDIA_MAX_IMAGES_PER_PRODUCT: '1000000'
    },
    `${url}/ready`
  )

  const sellerId = randomUUID()
  const headers = {
    'Content-Type': 'application/json',
    Authorization: `Bearer ${accessToken({ id: sellerId, role: 'seller', sellerId }, { lifetimeSeconds: 900 })}`
  }
  const call = async (method, path, body) => {
    const response = await fetch(`${url}${path}`, { method, headers, body: body && JSON.stringify(body) })
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`)
    return response.json()
  }
  const product = await call('POST', '/products', { title: 'Bench lamp', price: 1_000, currency: 'EUR', stock: 1 })
  const photo = await sharp({ create: { width: 2400, height: 1600, channels: 3, noise: { type: 'gaussian', mean: 128, sigma: 40 } } })
    .jpeg({ quality: 85 })
    .toBuffer()

  console.log(`bench/images: ${UPLOADS} uploads of a ${photo.length}-byte 2400×1600 JPEG, ${AT_ONCE} at a time; GETs with ${CONNECTIONS} connections`)
  const started = performance.now()
  const ids = []
  let next = 0
  await Promise.all(
    Array.from({ length: AT_ONCE }, async () => {
      while (next < UPLOADS) {
        next++
        const ticket = await call('POST', `/products/${product.id}/images`, { contentType: 'image/jpeg', size: photo.length })
        const put = await fetch(new URL(ticket.uploadUrl, url), { method: 'PUT', headers: ticket.headers, body: photo })
        if (!put.ok) throw new Error(`PUT: ${put.status}`)
        await call('POST', `/products/${product.id}/images/${ticket.imageId}/complete`, {})
        ids.push(ticket.imageId)
      }
    })
  )
  let images = []
  await waitUntil(
    async () => {
      images = await call('GET', `/products/${product.id}/images`)
      if (images.some((image) => image.status === 'rejected')) throw new Error('an upload was rejected')
      return images.length === UPLOADS && images.every((image) => image.status === 'ready')
    },
    'every upload ready',
    6_000
  )
  const seconds = (performance.now() - started) / 1000
  console.log(`  uploads: ${UPLOADS} processed in ${seconds.toFixed(1)} s: ${(UPLOADS / seconds).toFixed(1)} uploads/s`)

  const staticPort = await freePort()
  await startProcess([join(here, 'support', 'static-files.mjs'), String(staticPort), folder], {}, `http://127.0.0.1:${staticPort}/`)
  const paths = images.flatMap((image) => [image.urls.thumb, image.urls.medium])
  const load = (base) =>
    new Promise((resolve, reject) => {
      let n = 0
      autocannon(
        {
          url: base,
          connections: CONNECTIONS,
          duration: SECONDS,
          requests: [{ setupRequest: (request) => ({ ...request, path: paths[n++ % paths.length] }) }]
        },
        (error, result) => {
          if (error) return reject(error)
          if (result.non2xx > 0 || result.errors > 0) return reject(new Error(`${base}: ${result.non2xx} non-2xx, ${result.errors} errors`))
          resolve(result)
        }
      )
    })
  const targets = [
    { name: 'static file server', base: `http://127.0.0.1:${staticPort}`, rounds: [] },
    { name: 'catalog-service', base: url, rounds: [] }
  ]
  for (const target of targets) await load(target.base) // warm-up
  for (let round = 0; round < ROUNDS; round++) for (const target of targets) target.rounds.push(await load(target.base))
  const [baseline, catalog] = targets.map(({ name, rounds }) => ({
    name,
    rps: median(rounds.map((r) => r.requests.average)),
    p99: median(rounds.map((r) => r.latency.p99)),
    mbps: median(rounds.map((r) => r.throughput.average / 1e6))
  }))
  for (const { name, rps, p99, mbps } of [baseline, catalog]) {
    console.log(`  GET ${name.padEnd(18)} ${Math.round(rps).toString().padStart(6)} req/s   p99 ${p99} ms   ${mbps.toFixed(1)} MB/s`)
  }
  console.log(`ratio catalog/static: ${(catalog.rps / baseline.rps).toFixed(2)}`)
} finally {
  await run.remove()
}
