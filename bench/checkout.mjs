// bench/checkout: buyers check out against the running mesh (user, catalog, order and notify
// services, each its own process), each waiting for its order to be paid before the next one.
// Prints orders/s from POST /checkouts to order.paid and p50/p95/p99 of that latency; and, in the
// same run, the bound this machine allows: its one-row transaction rate (32 writers, node-postgres,
// nothing else running) divided by the commits one order takes across the services' databases
// (measured in this run from pg_stat_database). Target: >= 500 orders/s with p99 < 500 ms, or
// >= 0.5 of that bound. Beside it, a machine bound, since an order also crosses the broker and
// PostgreSQL and RabbitMQ share the cores: the commits and the broker deliveries one order takes
// (the services' events_consumed_total over the run), each at the machine CPU it costs in its own
// baseline (the one-row transactions above; RabbitMQ alone: confirmed publishes to a quorum queue,
// consumed with acks), against the cores there are.
// Usage: node bench/checkout.mjs [seconds=20] [buyers=32]   (after `npm run build`)
// CHECKOUT_BENCH_CPU_PROF=<dir> runs each service with --cpu-prof, its profile written there at the end.
// CHECKOUT_BENCH_TRACING=1 then runs the same checkouts again, as long, with the services restarted with
// tracing on (OTLP/HTTP to a receiver the bench starts), and prints what tracing costs against the run without.
import { randomUUID } from 'node:crypto'
import { availableParallelism } from 'node:os'
import { quorumDeliveries } from './support/broker-baseline.mjs'
import { oneRowTransactions } from './support/database-baseline.mjs'
import { scrapedMetric } from '@marketmesh/test-support/metrics'
import { startOtlpReceiver } from '@marketmesh/test-support/otlp-receiver'
import { benchMesh, json, listenForOutcomes, openMarket, stopServices } from './support/mesh.mjs'
import { cpuSecondsOf, machineCpuSeconds } from './support/processes.mjs'

const SECONDS = Number(process.argv[2] ?? 20)
const BUYERS = Number(process.argv[3] ?? 32)
const TRACING = process.env.CHECKOUT_BENCH_TRACING === '1'
const SELLERS = 4
const PRODUCTS_PER_SELLER = 5
const postgres = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432'
const amqpUrl = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672'
const mesh = benchMesh('checkout', { cpuProfileDir: process.env.CHECKOUT_BENCH_CPU_PROF })
const { prefix, services } = mesh
const run = mesh.name

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]

// Only the services' consumers: the bench's own queue is the measuring instrument, not part of an
// order's path (it would add one delivery per order).
const consumedOf = async (running) =>
  (await Promise.all(running.map(({ opsUrl }) => scrapedMetric(opsUrl, 'events_consumed_total')))).reduce((sum, n) => sum + n, 0)

const started = []
try {
  for (const service of services) started.push(await mesh.start(service))
  console.log(
    `bench/checkout: ${BUYERS} buyers for ${SECONDS} s, ${SELLERS} sellers × ${PRODUCTS_PER_SELLER} products, the four services as processes`
  )

  const market = await openMarket(started, run, { sellers: SELLERS, productsPerSeller: PRODUCTS_PER_SELLER, buyers: BUYERS })
  const { products } = market
  const buyers = market.buyers.map((buyer) => buyer.headers)

  // An outcome may come before the checkout's answer (the saga can be quicker than the answer's
  // way back): kept until asked for, or it would be waited for forever.
  const waiting = new Map()
  const arrived = new Map()
  const connection = await listenForOutcomes(amqpUrl, prefix, (orderId, type) => {
    const resolve = waiting.get(orderId)
    if (resolve) {
      waiting.delete(orderId)
      resolve(type)
    } else arrived.set(orderId, type)
  })

  const body = () => ({
    items: [{ productId: products[Math.floor(Math.random() * products.length)].id, quantity: 1 }],
    shippingAddress: { name: 'Bench Buyer', line1: 'Main Street 1', city: 'Berlin', postalCode: '10115', country: 'DE' },
    payment: { provider: 'test', token: 'tok_ok' }
  })
  /** Every buyer checking out for SECONDS against `running` (after a warm-up round: JIT, pools, prepared paths), with what it cost. */
  const measure = async (running) => {
    const order = running.find(({ name }) => name === 'order')
    const latencies = []
    const outcomes = {}
    const checkoutOnce = async (headers) => {
      const begun = performance.now()
      const placed = await json(`${order.url}/checkouts`, 'POST', body(), { ...headers, 'Idempotency-Key': randomUUID() })
      const orderId = placed.orders[0].id
      const outcome = arrived.get(orderId) ?? (await new Promise((resolve) => waiting.set(orderId, resolve)))
      arrived.delete(orderId)
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1
      return performance.now() - begun
    }
    await Promise.all(buyers.map((headers) => checkoutOnce(headers)))

    const commitsBefore = await mesh.commits()
    const consumedBefore = await consumedOf(running)
    const cpuBefore = { machine: machineCpuSeconds(), bench: process.cpuUsage(), services: running.map(({ child }) => cpuSecondsOf(child.pid)) }
    const deadline = Date.now() + SECONDS * 1000
    const begun = Date.now()
    await Promise.all(
      buyers.map(async (headers) => {
        while (Date.now() < deadline) latencies.push(await checkoutOnce(headers))
      })
    )
    const elapsed = (Date.now() - begun) / 1000
    const machine = machineCpuSeconds()
    const { user, system } = process.cpuUsage(cpuBefore.bench)
    return {
      latencies,
      sorted: [...latencies].sort((a, b) => a - b),
      elapsed,
      rate: latencies.length / elapsed,
      outcomes,
      serviceCommitsPerOrder: await mesh
        .commits()
        .then((after) => services.map(({ name }) => [name, (after[name] - commitsBefore[name]) / latencies.length])),
      deliveriesPerOrder: ((await consumedOf(running)) - consumedBefore) / latencies.length,
      servicesCpu: running.map(({ child }, i) => cpuSecondsOf(child.pid) - cpuBefore.services[i]),
      benchCpu: (user + system) / 1e6,
      busy: machine.busy - cpuBefore.machine.busy,
      idle: machine.idle - cpuBefore.machine.idle
    }
  }

  const { latencies, sorted, elapsed, rate, outcomes, serviceCommitsPerOrder, deliveriesPerOrder, servicesCpu, benchCpu, busy, idle } =
    await measure(started)
  const commitsPerOrder = serviceCommitsPerOrder.reduce((sum, [, commits]) => sum + commits, 0)
  const cpuMsPerOrder = (seconds, orders = latencies.length) => ((seconds * 1000) / orders).toFixed(1)
  const restCpu = busy - benchCpu - servicesCpu.reduce((sum, s) => sum + s, 0)
  const cpuLine =
    `CPU per order: ${started.map(({ name }, i) => `${name} ${cpuMsPerOrder(servicesCpu[i])} ms`).join(', ')}, bench ${cpuMsPerOrder(benchCpu)} ms, ` +
    `the rest (PostgreSQL, RabbitMQ, anything else running) ${cpuMsPerOrder(restCpu)} ms; ` +
    `the machine was busy ${Math.round((busy / (busy + idle)) * 100)}% of the run`
  // The baseline runs with nothing else on the machine (and the CPU profiles get written).
  await stopServices(started)

  // The same checkouts, as long, with the services restarted with tracing on: its cost in this run.
  if (TRACING) {
    const receiver = await startOtlpReceiver({ keepSpans: false })
    try {
      const traced = []
      for (const service of services) traced.push(await mesh.start(service, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }))
      started.push(...traced)
      const on = await measure(traced)
      await stopServices(traced)
      const cpuOff = servicesCpu.reduce((sum, s) => sum + s, 0)
      const cpuOn = on.servicesCpu.reduce((sum, s) => sum + s, 0)
      const percent = (after, before) => `${after >= before ? '+' : ''}${(((after - before) / before) * 100).toFixed(1)}%`
      const ms = (after, before) => `${after >= before ? '+' : ''}${(after - before).toFixed(1)} ms`
      const [p50, p99] = [50, 99].map((p) => [percentile(on.sorted, p), percentile(sorted, p)])
      console.log(
        `tracing on (OTLP/HTTP to a local receiver, ${receiver.spanCount()} spans received): ${Math.round(on.rate)} orders/s ` +
          `(${on.latencies.length} orders; outcomes ${JSON.stringify(on.outcomes)}), p50 ${p50[0].toFixed(1)} ms, p99 ${p99[0].toFixed(1)} ms, ` +
          `services' CPU per order ${cpuMsPerOrder(cpuOn, on.latencies.length)} ms\n` +
          `  overhead against tracing off in this run: throughput ${percent(on.rate, rate)}, p50 ${ms(...p50)}, p99 ${ms(...p99)}, ` +
          `services' CPU per order ${percent(cpuOn / on.latencies.length, cpuOff / latencies.length)}; tracing off: ${Math.round(rate)} orders/s (below)`
      )
    } finally {
      await receiver.close()
    }
  }
  await connection.close()
  const database = await oneRowTransactions(`${postgres}/${run}_baseline`, 400, JSON.stringify({ id: randomUUID() }))
  const { transactions, seconds } = database
  const baseline = transactions / seconds
  const broker = await quorumDeliveries(amqpUrl, `${prefix}.baseline`, 20_000)
  const cpuPerCommit = database.busy / transactions
  // A baseline delivery carries its own publish; in the mesh an event two consumers get is
  // published once, so for those the publish is charged twice: that part errs low.
  const cpuPerDelivery = broker.busy / broker.deliveries
  const cores = availableParallelism()
  const machineBound = cores / (commitsPerOrder * cpuPerCommit + deliveriesPerOrder * cpuPerDelivery)
  const bound = baseline / commitsPerOrder
  const restRate = (cores * latencies.length) / restCpu
  console.log(
    `marketmesh checkout -> paid: ${Math.round(rate)} orders/s (${latencies.length} orders in ${elapsed.toFixed(1)} s; outcomes ${JSON.stringify(outcomes)})\n` +
      `  latency p50 ${percentile(sorted, 50).toFixed(1)} ms, p95 ${percentile(sorted, 95).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms\n` +
      `baseline database  one-row transactions (node-postgres, 32 writers), nothing else running: ${Math.round(baseline)} transactions/s\n` +
      `  commits per order across the four databases, measured in this run: ${commitsPerOrder.toFixed(1)} ` +
      `(${serviceCommitsPerOrder.map(([name, commits]) => `${name} ${commits.toFixed(1)}`).join(', ')})\n` +
      `  ${cpuLine}\n` +
      `  bound ${Math.round(bound)} orders/s (reached ${(rate / bound).toFixed(2)}); ` +
      `target >= 500 orders/s with p99 < 500 ms, or >= 0.5 of the bound: ${
        (rate >= 500 && percentile(sorted, 99) < 500) || rate / bound >= 0.5 ? 'met' : 'NOT met'
      }\n` +
      `  broker deliveries per order, measured in this run: ${deliveriesPerOrder.toFixed(1)}; ` +
      `baseline broker alone (quorum queue, confirms, acks): ${Math.round(broker.deliveries / broker.seconds)} deliveries/s, ` +
      `${(cpuPerDelivery * 1000).toFixed(3)} ms CPU per delivery; baseline database alone: ${(cpuPerCommit * 1000).toFixed(3)} ms CPU per commit\n` +
      `  machine bound (the commits and deliveries an order takes, at the CPU each costs alone, on ${cores} cores): ` +
      `${Math.round(machineBound)} orders/s (reached ${(rate / machineBound).toFixed(2)})\n` +
      // What PostgreSQL and RabbitMQ spent per order in this run, as the services drive them: the
      // most the machine would do if the services and the bench took no CPU at all.
      `  with services free: the rest's CPU per order alone allows ${Math.round(restRate)} orders/s (${(restRate / bound).toFixed(2)} of the bound)`
  )
} finally {
  for (const service of started) service.child.kill('SIGKILL')
  await mesh.remove().catch(() => undefined)
}
