// bench/webhooks: webhook deliveries per second to a local receiver
//   N pending deliveries to one endpoint, written at once -> notify-service's sender (in this
//   process) claims, signs (Standard Webhooks), POSTs and records each; timed from the first
//   arrival to the last success recorded
// and, in the same run, the bound: the receiver alone, N POSTs of the same body from a
// keep-alive client with as many in flight as the sender may have (its `concurrency`), through
// the HTTP client the sender uses (undici). Each side has a warm-up round first.
// The receiver is a process of its own (bench/support/webhook-receiver.mjs). Target: >= 0.5 of the bound.
// Last, the durable part alone: the same N through the sender with the POST answered 204 at once in
// this process (claim, sign, record; no HTTP), and the bound it and the receiver set sharing the machine.
// Usage: [WEBHOOKS_BENCH_CPU_PROF=<file>] node bench/webhooks.mjs [N]   (after `npm run build`; default 5000)
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { benchRun } from './support/bench-run.mjs'

const require = createRequire(import.meta.url)
const { listen } = require('@marketmesh/shared')
const { waitFor } = require('@marketmesh/test-support')
const { bearer } = require('@marketmesh/test-support/tokens')
const { createApp } = require('@marketmesh/notify-service')
const { Agent, request } = require('undici')
// The module the sender posts through: the durable part's round swaps its POST for an answer at once.
const webhookTarget = require(join(dirname(require.resolve('@marketmesh/notify-service')), 'webhooks', 'target.js'))

const N = Number(process.argv[2] ?? 5_000)
const CONCURRENCY = 32
const TARGET_RATIO = 0.5
const PORT = 20_000 + Math.floor(Math.random() * 20_000)
const here = dirname(fileURLToPath(import.meta.url))
const target = `http://127.0.0.1:${PORT}/hook`

const run = benchRun('webhooks')
run.spawned(spawn(process.execPath, [join(here, 'support', 'webhook-receiver.mjs'), String(PORT)], { stdio: 'inherit' }))
/** The receiver's count, answered once it is at least `atLeast`: one request held open, no polling beside the sender. */
const receivedSoFar = async (atLeast = 0) => (await (await fetch(`http://127.0.0.1:${PORT}/count?atLeast=${atLeast}`)).json()).received

// What a delivery carries: an order.shipped body and the three Standard Webhooks headers.
const body = JSON.stringify({
  type: 'order.shipped',
  timestamp: new Date().toISOString(),
  data: { orderId: randomUUID(), buyerId: randomUUID(), sellerId: randomUUID(), version: 1 }
})

/** The bound: N POSTs straight to the receiver, CONCURRENCY in flight on keep-alive sockets, with the sender's HTTP client. */
const receiverAlone = async () => {
  const dispatcher = new Agent({ connections: CONCURRENCY })
  const post = async () => {
    const response = await request(target, {
      method: 'POST',
      dispatcher,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'marketmesh-webhooks/1',
        'webhook-id': randomUUID(),
        'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
        'webhook-signature': `v1,${'A'.repeat(44)}`
      },
      body
    })
    await response.body.dump()
  }
  let next = 0
  const cpu = process.cpuUsage()
  const started = performance.now()
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < N) await post()
    })
  )
  const rate = Math.round(N / ((performance.now() - started) / 1000))
  await dispatcher.close()
  return { rate, cpuPerRequest: cpuMicroseconds(cpu) / N }
}

/**
 * With WEBHOOKS_BENCH_CPU_PROF=<file>: a CPU profile of this process (the sender) from the first
 * arrival to the last success recorded, the measured window only, written to <file>.cpuprofile.
 */
const profileWhileSending = async () => {
  const file = process.env.WEBHOOKS_BENCH_CPU_PROF
  if (!file) return undefined
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.start')
  return {
    stop: async () => {
      const { profile } = await session.post('Profiler.stop')
      writeFileSync(`${file}.cpuprofile`, JSON.stringify(profile))
      session.disconnect()
      console.log(`the sender's CPU profile over the measured window: ${file}.cpuprofile`)
    }
  }
}

/** This process's CPU (user + system) since `since`, in µs. */
const cpuMicroseconds = (since) => {
  const { user, system } = process.cpuUsage(since)
  return user + system
}

const settings = {
  postgresql: { connection: run.connection },
  amqp: { prefix: run.prefix },
  logLevel: 'warn',
  webhooks: { concurrency: CONCURRENCY, perEndpointConcurrency: CONCURRENCY, pollInterval: '1s', allowPrivate: true, allowHttp: true }
}
let app
let server
try {
  await waitFor(async () => (await receivedSoFar().catch(() => undefined)) !== undefined, { what: 'the receiver to listen' })
  console.log(`bench/webhooks: ${N} deliveries to one local endpoint, ${CONCURRENCY} in flight`)
  // A first round warms up the receiver and the client (JIT, sockets); measured from the second.
  await receiverAlone()
  const before = await receiverAlone()
  console.log(`baseline receiver alone, before: ${before.rate} requests/s (the client's CPU: ${before.cpuPerRequest.toFixed(0)} µs per request)`)

  app = createApp(settings)
  server = await listen(app, 0)
  const db = app.get('postgresqlClient')
  const registered = await fetch(`http://127.0.0.1:${server.address().port}/webhook-endpoints`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...bearer({ id: randomUUID(), role: 'admin' }) },
    body: JSON.stringify({ url: target, events: ['order.*'] })
  })
  if (registered.status !== 201) throw new Error(`registering the endpoint: ${registered.status} ${await registered.text()}`)
  const endpoint = await registered.json()

  /**
   * `count` pending deliveries written at once, then timed from the first arrival to the last success recorded.
   * `arrived(atLeast)`: how many arrived so far, once at least `atLeast` (at the receiver, by default).
   */
  const deliverThroughSender = async (count, { profiling = false, arrived = receivedSoFar } = {}) => {
    const offset = await arrived()
    const recordedBefore = await succeeded()
    await db.transaction(async (trx) => {
      for (let index = 0; index < count; index += 1_000) {
        const rows = Array.from({ length: Math.min(1_000, count - index) }, () => ({
          id: randomUUID(),
          endpointId: endpoint.id,
          eventType: 'order.shipped',
          body
        }))
        await trx('webhook_deliveries').insert(rows)
      }
    })
    await arrived(offset + 1)
    const profile = profiling ? await profileWhileSending() : undefined
    const senderCpu = process.cpuUsage()
    const started = performance.now()
    // Counting the recorded rows scans the table: asked only once all arrived, so the count is no
    // load on the database while the sender works.
    await arrived(offset + count)
    await waitFor(async () => (await succeeded()) === recordedBefore + count, {
      what: 'every delivery recorded',
      timeoutMs: 600_000,
      intervalMs: 5
    })
    const rate = Math.round(count / ((performance.now() - started) / 1000))
    const cpuPerDelivery = cpuMicroseconds(senderCpu) / count
    await profile?.stop()
    return { rate, cpuPerDelivery, duplicates: (await arrived()) - offset - count }
  }
  const succeeded = async () => Number((await db('webhook_deliveries').where({ status: 'succeeded' }).count({ count: '*' }))[0].count)

  // The warm-up round, as for the bound: the sender's code compiled (JIT) and its sockets open.
  const warmUp = await deliverThroughSender(Math.min(N, 5_000))
  const { rate, cpuPerDelivery, duplicates } = await deliverThroughSender(N, { profiling: true })
  console.log(
    `webhooks         signed, sent and recorded: ${rate} deliveries/s (${duplicates + warmUp.duplicates} sent twice; the sender's CPU: ${cpuPerDelivery.toFixed(0)} µs per delivery)`
  )

  const after = await receiverAlone()
  console.log(`baseline receiver alone, after: ${after.rate} requests/s (the client's CPU: ${after.cpuPerRequest.toFixed(0)} µs per request)`)
  const bound = Math.round((before.rate + after.rate) / 2)

  // The durable part alone: every POST answered 204 at once, after a turn of the event loop as an
  // answer from the network would come. What the sender and PostgreSQL do per delivery beside the HTTP.
  let answered = 0
  const post = webhookTarget.sendWebhook
  webhookTarget.sendWebhook = async () => {
    answered++
    await new Promise(setImmediate)
    return { statusCode: 204, durationMs: 0 }
  }
  const answeredSoFar = async (atLeast = 0) => {
    await waitFor(() => answered >= atLeast, { what: `${atLeast} deliveries answered`, timeoutMs: 600_000, intervalMs: 1 })
    return answered
  }
  const durable = await deliverThroughSender(N, { arrived: answeredSoFar })
  webhookTarget.sendWebhook = post
  console.log(
    `durable part     claimed, signed and recorded, no HTTP: ${durable.rate} deliveries/s (${durable.duplicates} answered twice; the sender's CPU: ${durable.cpuPerDelivery.toFixed(0)} µs per delivery)`
  )
  // Both use the whole machine alone: sharing it, each delivery costs the two's time.
  const shared = 1 / (1 / bound + 1 / durable.rate)
  console.log(
    `                 bound the receiver and the durable part set sharing the machine: ${Math.round(shared)} deliveries/s (reached ${(rate / shared).toFixed(2)})`
  )
  const ratio = rate / bound
  console.log(
    `ratio            ${ratio.toFixed(2)} of the receiver alone (${bound} requests/s); target >= ${TARGET_RATIO}: ${ratio >= TARGET_RATIO ? 'met' : 'not met'}`
  )
} finally {
  await app?.teardown()
  server?.close()
  await run.remove()
}
