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
// Usage: node bench/checkout.mjs [seconds=20] [buyers=32] [--against [rev]]   (after `npm run build`)
// --against: the verdict of #28 instead. The rev (default BEFORE_ISSUE_28) is built in a temporary
// git worktree; this tree's services and the rev's run in turn (fresh databases each), two runs of
// each (this tree, the rev, the rev, this tree); prints each run and the ratio of orders/s (target >= 2
// with p99 < 500 ms) and the CPU per order, also as a share of the rev's.
// CHECKOUT_BENCH_CPU_PROF=<dir> runs each service with --cpu-prof, its profile written there at the end.
// CHECKOUT_BENCH_TRACING=1 then runs the same checkouts again, as long, with the services restarted with
// tracing on (OTLP/HTTP to a receiver the bench starts), and prints what tracing costs against the run without.
import { randomUUID } from 'node:crypto'
import { createRequire } from 'node:module'
import { availableParallelism } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { BASELINE_CONSUMER, brokerDeliveries } from './support/broker-baseline.mjs'
import { benchRun } from './support/bench-run.mjs'
import { oneRowTransactions } from './support/database-baseline.mjs'
import { builtTree } from './support/git-tree.mjs'
import { startServiceProcess } from './support/mesh.mjs'
import { scrapedMetric } from '@marketmesh/test-support/metrics'
import { startOtlpReceiver } from '@marketmesh/test-support/otlp-receiver'
import { cpuSecondsByCommand, cpuSecondsOf, cpuSecondsSince, machineCpuSeconds, waitUntil } from './support/processes.mjs'

const require = createRequire(import.meta.url)
const pg = require('pg')
const amqplib = require('amqplib')
const { exchangeNames } = require('@marketmesh/events')
const { ensureDatabase } = require('@marketmesh/shared')

/** main's head when the work on #28 (checkout at half the cost) began: the code its verdict compares with. */
const BEFORE_ISSUE_28 = '5dcdc7c'
const { values: flags, positionals } = parseArgs({ allowPositionals: true, options: { against: { type: 'boolean' } } })
// `--against <rev>`: a positional after --against that is no number is the rev.
const against = flags.against ? (positionals.find((arg) => !/^\d+$/.test(arg)) ?? BEFORE_ISSUE_28) : undefined
const [SECONDS = 20, BUYERS = 32] = positionals.filter((arg) => /^\d+$/.test(arg)).map(Number)
const TRACING = process.env.CHECKOUT_BENCH_TRACING === '1'
const SELLERS = 4
const PRODUCTS_PER_SELLER = 5
const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const amqpUrl = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672'
const run = benchRun('checkout', { consumers: [BASELINE_CONSUMER] })
const SERVICES = ['user', 'catalog', 'order', 'notify']

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
const mean = (values) => values.reduce((sum, v) => sum + v, 0) / values.length

/** One measured mesh: the code of the tree at `tree`, databases `<run>_<tag>_<service>`, broker prefix `<prefix>.<tag>`. */
const meshOf = (tree, tag) => ({
  tree,
  tag,
  prefix: run.subPrefix(tag),
  services: SERVICES.map((name) => ({ name, database: run.database(`${tag}_${name}`) }))
})

/** Starts the service from the mesh's tree; `extraEnv` over the bench's environment (tracing's OTEL_* variables). */
const startService = (mesh, service, extraEnv = {}) =>
  startServiceProcess(run, { service, prefix: mesh.prefix, tree: mesh.tree, cpuProfileDir: process.env.CHECKOUT_BENCH_CPU_PROF, extraEnv })

const json = async (url, method, body, headers = {}) => {
  const response = await fetch(url, { method, headers: { 'Content-Type': 'application/json', ...headers }, body: body && JSON.stringify(body) })
  const answer = await response.json()
  if (response.status >= 400) throw new Error(`${method} ${url}: ${response.status} ${answer.message}`)
  return answer
}

const accountOf = async (users, role, index) => {
  const email = `${role}${index}-${run.name}@bench.example`
  const password = 'bench-password-1'
  await json(`${users.url}/users`, 'POST', {
    email,
    password,
    name: `${role} ${index}`,
    role,
    ...(role === 'seller' ? { shopName: `Shop ${index} ${run.name}` } : {})
  })
  const { accessToken } = await json(`${users.url}/authentication`, 'POST', { strategy: 'local', email, password })
  return { Authorization: `Bearer ${accessToken}` }
}

const databaseNames = (mesh) => mesh.services.map((service) => new URL(service.database).pathname.slice(1))

/**
 * Transactions so far in the services' databases: the commits of each, by service name, and the
 * rollbacks and deadlocks of them all (a rolled back transaction is work done again; a deadlock
 * also kept its transactions waiting for PostgreSQL's deadlock_timeout, 1 s by default).
 */
const transactionsOf = async (mesh) => {
  const client = new pg.Client({ connectionString: run.database('stats') })
  await client.connect()
  const names = databaseNames(mesh)
  const { rows } = await client.query(
    'SELECT datname, xact_commit::bigint AS commits, xact_rollback::bigint AS rollbacks, deadlocks::bigint AS deadlocks FROM pg_stat_database WHERE datname = ANY($1)',
    [names]
  )
  await client.end()
  const total = (column) => rows.reduce((sum, row) => sum + Number(row[column]), 0)
  return {
    commits: Object.fromEntries(mesh.services.map(({ name }, i) => [name, Number(rows.find((row) => row.datname === names[i])?.commits ?? 0)])),
    rollbacks: total('rollbacks'),
    deadlocks: total('deadlocks')
  }
}

/**
 * pg_stat_statements, read from a database of the run that has the extension, when PostgreSQL
 * loads it (shared_preload_libraries); else statements are not counted (no other view counts them).
 */
const statementStats = await (async () => {
  const url = run.database('stats')
  await ensureDatabase(url)
  const client = new pg.Client({ connectionString: url })
  // An interrupted run drops the database under it.
  client.on('error', () => undefined)
  await client.connect()
  try {
    await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements')
    await client.query('SELECT 1 FROM pg_stat_statements LIMIT 1')
    return client
  } catch (error) {
    console.log(`statements not counted: ${error.message}`)
    await client.end()
    return undefined
  }
})()

/** Statements run so far in the mesh's databases (top-level and nested): all, and without transaction control. */
const statementsOf = async (mesh) => {
  if (!statementStats) return undefined
  const { rows } = await statementStats.query(
    `SELECT coalesce(sum(calls), 0)::bigint AS all,
            coalesce(sum(calls) FILTER (WHERE query !~* '^\\s*(begin|commit|rollback|savepoint|release)'), 0)::bigint AS work
       FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = ANY($1)`,
    [databaseNames(mesh)]
  )
  return { all: Number(rows[0].all), work: Number(rows[0].work) }
}

// Only the services' consumers: the bench's own queue is the measuring instrument, not part of an
// order's path (it would add one delivery per order).
const consumedOf = async (running) =>
  (await Promise.all(running.map(({ opsUrl }) => scrapedMetric(opsUrl, 'events_consumed_total')))).reduce((sum, n) => sum + n, 0)

/** Stops the services (SIGTERM: a traced one exports its last spans) and waits until they are gone. */
const stopServices = (running) =>
  Promise.all(
    running.map(({ child }) => new Promise((done) => (child.exitCode !== null ? done() : (child.once('exit', done), child.kill('SIGTERM')))))
  )

const body = (products) => ({
  items: [{ productId: products[Math.floor(Math.random() * products.length)].id, quantity: 1 }],
  shippingAddress: { name: 'Bench Buyer', line1: 'Main Street 1', city: 'Berlin', postalCode: '10115', country: 'DE' },
  payment: { provider: 'test', token: 'tok_ok' }
})

/**
 * Starts the mesh's services, with sellers, products and buyers, and listens for every order's
 * outcome. `measure(running)` checks out for SECONDS against `running` (the services started, or
 * restarted with `start`); `close()` stops them.
 */
const openMesh = async (mesh) => {
  const started = []
  for (const service of mesh.services) started.push(await startService(mesh, service))
  const [users, catalog, order] = started
  const products = []
  for (let s = 0; s < SELLERS; s++) {
    const seller = await accountOf(users, 'seller', s)
    for (let p = 0; p < PRODUCTS_PER_SELLER; p++) {
      products.push(
        await json(
          `${catalog.url}/products`,
          'POST',
          { title: `Bench product ${s}-${p}`, price: 1_000 + p, currency: 'EUR', stock: 10_000_000 },
          seller
        )
      )
    }
  }
  const buyers = []
  for (let b = 0; b < BUYERS; b++) buyers.push(await accountOf(users, 'buyer', b))
  const orderDb = new pg.Client({ connectionString: order.database })
  await orderDb.connect()
  await waitUntil(
    async () => Number((await orderDb.query('SELECT count(*) FROM products')).rows[0].count) === products.length,
    'the products at order-service'
  )
  await orderDb.end()

  // Every order's outcome as the broker carries it.
  const connection = await amqplib.connect(amqpUrl)
  // Its loss fails the run where it is awaited; an interrupted run's removal closes it.
  connection.on('error', () => undefined)
  const channel = await connection.createChannel()
  const { queue } = await channel.assertQueue('', { exclusive: true })
  for (const type of ['order.paid', 'order.cancelled', 'order.rejected']) await channel.bindQueue(queue, exchangeNames(mesh.prefix).events, type)
  // An outcome may come before the checkout's answer (the saga can be quicker than the answer's
  // way back): kept until asked for, or it would be waited for forever.
  const waiting = new Map()
  const arrived = new Map()
  await channel.consume(
    queue,
    (message) => {
      const event = JSON.parse(message.content.toString())
      const resolve = waiting.get(event.data.orderId)
      if (resolve) {
        waiting.delete(event.data.orderId)
        resolve(event.type)
      } else arrived.set(event.data.orderId, event.type)
    },
    { noAck: true }
  )

  /** Every buyer checking out for SECONDS against `running` (after a warm-up round: JIT, pools, prepared paths), with what it cost. */
  const measure = async (running) => {
    const order = running.find(({ name }) => name === 'order')
    const latencies = []
    const outcomes = {}
    const checkoutOnce = async (headers) => {
      const begun = performance.now()
      const placed = await json(`${order.url}/checkouts`, 'POST', body(products), { ...headers, 'Idempotency-Key': randomUUID() })
      const orderId = placed.orders[0].id
      const outcome = arrived.get(orderId) ?? (await new Promise((resolve) => waiting.set(orderId, resolve)))
      arrived.delete(orderId)
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1
      return performance.now() - begun
    }
    await Promise.all(buyers.map((headers) => checkoutOnce(headers)))

    const transactionsBefore = await transactionsOf(mesh)
    const statementsBefore = await statementsOf(mesh)
    const consumedBefore = await consumedOf(running)
    const cpuBefore = {
      machine: machineCpuSeconds(),
      bench: process.cpuUsage(),
      services: running.map(({ child }) => cpuSecondsOf(child.pid)),
      postgres: cpuSecondsByCommand([POSTGRES_COMMAND]),
      rabbitmq: cpuSecondsByCommand([RABBITMQ_COMMAND])
    }
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
    const servicesCpu = running.map(({ child }, i) => cpuSecondsOf(child.pid) - cpuBefore.services[i])
    const postgresCpu = cpuSecondsSince(cpuBefore.postgres, cpuSecondsByCommand([POSTGRES_COMMAND]))
    const rabbitmqCpu = cpuSecondsSince(cpuBefore.rabbitmq, cpuSecondsByCommand([RABBITMQ_COMMAND]))
    const statementsAfter = await statementsOf(mesh)
    const transactionsAfter = await transactionsOf(mesh)
    const serviceCommitsPerOrder = mesh.services.map(({ name }) => [
      name,
      (transactionsAfter.commits[name] - transactionsBefore.commits[name]) / latencies.length
    ])
    const benchCpu = (user + system) / 1e6
    const busy = machine.busy - cpuBefore.machine.busy
    return {
      latencies,
      sorted: [...latencies].sort((a, b) => a - b),
      elapsed,
      rate: latencies.length / elapsed,
      outcomes,
      serviceCommitsPerOrder,
      commitsPerOrder: serviceCommitsPerOrder.reduce((sum, [, commits]) => sum + commits, 0),
      rollbacksPerOrder: (transactionsAfter.rollbacks - transactionsBefore.rollbacks) / latencies.length,
      deadlocks: transactionsAfter.deadlocks - transactionsBefore.deadlocks,
      statementsPerOrder: statementsBefore && {
        all: (statementsAfter.all - statementsBefore.all) / latencies.length,
        work: (statementsAfter.work - statementsBefore.work) / latencies.length
      },
      deliveriesPerOrder: ((await consumedOf(running)) - consumedBefore) / latencies.length,
      servicesCpu,
      benchCpu,
      restCpu: busy - benchCpu - servicesCpu.reduce((sum, s) => sum + s, 0),
      postgresCpu,
      rabbitmqCpu,
      busy,
      idle: machine.idle - cpuBefore.machine.idle
    }
  }

  return {
    started,
    measure,
    start: async (extraEnv) => {
      const restarted = []
      for (const service of mesh.services) restarted.push(await startService(mesh, service, extraEnv))
      return restarted
    },
    stop: stopServices,
    close: async () => {
      await stopServices(started)
      await connection.close()
    }
  }
}

// The servers' processes as /proc names them: every PostgreSQL backend and helper, and RabbitMQ's Erlang VM.
const POSTGRES_COMMAND = 'postgres'
const RABBITMQ_COMMAND = 'beam.smp'
const cpuMsPerOrder = (seconds, orders) => ((seconds * 1000) / orders).toFixed(1)
const perOrderLine = (figures) =>
  `per order: ${figures.commitsPerOrder.toFixed(1)} commits (${figures.serviceCommitsPerOrder.map(([name, commits]) => `${name} ${commits.toFixed(1)}`).join(', ')}), ` +
  `${figures.rollbacksPerOrder.toFixed(2)} rollbacks (${figures.deadlocks} deadlocks in the run), ` +
  (figures.statementsPerOrder
    ? `${figures.statementsPerOrder.all.toFixed(1)} statements (${figures.statementsPerOrder.work.toFixed(1)} without BEGIN/COMMIT/SAVEPOINT; pg_stat_statements), `
    : 'statements not counted, ') +
  `${figures.deliveriesPerOrder.toFixed(1)} broker deliveries`
const cpuLine = (figures) => {
  const orders = figures.latencies.length
  return (
    `CPU per order: ${SERVICES.map((name, i) => `${name} ${cpuMsPerOrder(figures.servicesCpu[i], orders)} ms`).join(', ')}, ` +
    `bench ${cpuMsPerOrder(figures.benchCpu, orders)} ms, the rest ${cpuMsPerOrder(figures.restCpu, orders)} ms ` +
    `(PostgreSQL ${cpuMsPerOrder(figures.postgresCpu, orders)} ms, RabbitMQ ${cpuMsPerOrder(figures.rabbitmqCpu, orders)} ms, ` +
    `anything else ${cpuMsPerOrder(figures.restCpu - figures.postgresCpu - figures.rabbitmqCpu, orders)} ms); ` +
    `machine ${cpuMsPerOrder(figures.busy, orders)} ms, busy ${Math.round((figures.busy / (figures.busy + figures.idle)) * 100)}% of the run`
  )
}
const rateLine = (figures) =>
  `${Math.round(figures.rate)} orders/s (${figures.latencies.length} orders in ${figures.elapsed.toFixed(1)} s; outcomes ${JSON.stringify(figures.outcomes)}), ` +
  `p50 ${percentile(figures.sorted, 50).toFixed(1)} ms, p99 ${percentile(figures.sorted, 99).toFixed(1)} ms`

/** A mesh of `tree`'s code, measured once, then stopped. */
const measuredOnce = async (tree, tag) => {
  const session = await openMesh(meshOf(tree, tag))
  try {
    return await session.measure(session.started)
  } finally {
    await session.close()
  }
}

// The verdict's runs in turn: this tree, the rev, the rev, this tree. The machine's speed drifts
// over minutes (a third between runs has been seen); a drift steady over the four runs cancels out
// of the means in this order, where in current, rev, current, rev it would favour the rev.
const VERDICT_RUNS = ['current', 'baseline', 'baseline', 'current']

/** #28's verdict: this tree against `rev`, two runs each, in turn (VERDICT_RUNS). */
const verdictAgainst = async (rev) => {
  console.log(`bench/checkout --against ${rev}: ${BUYERS} buyers for ${SECONDS} s per run; building ${rev} in a temporary worktree`)
  const baseline = await builtTree(root, rev, run)
  const runs = { current: [], baseline: [] }
  for (const [index, which] of VERDICT_RUNS.entries()) {
    const i = index + 1
    const figures = await measuredOnce(which === 'current' ? root : baseline.folder, `r${i}`)
    runs[which].push(figures)
    console.log(
      `run ${i} ${which === 'current' ? 'current ' : `${baseline.commit.slice(0, 7)}`}: ${rateLine(figures)}\n  ${perOrderLine(figures)}\n  ${cpuLine(figures)}`
    )
  }
  baseline.remove()
  const ratio = mean(runs.current.map((f) => f.rate)) / mean(runs.baseline.map((f) => f.rate))
  const p99 = Math.max(...runs.current.map((f) => percentile(f.sorted, 99)))
  const cpuOf = (figures) => mean(figures.map((f) => (f.busy * 1000) / f.latencies.length))
  const cpu = cpuOf(runs.current)
  console.log(
    `verdict orders/s current/${baseline.commit.slice(0, 7)}: ${ratio.toFixed(2)} (means of two runs each), current p99 up to ${p99.toFixed(1)} ms; ` +
      `target >= 2 with p99 < 500 ms: ${ratio >= 2 && p99 < 500 ? 'met' : 'NOT met'}\n` +
      `verdict CPU per order (the machine's, current runs; anything else running counts too): ${cpu.toFixed(1)} ms; target <= 9 ms: ${cpu <= 9 ? 'met' : 'NOT met'}\n` +
      `  against ${baseline.commit.slice(0, 7)} (${cpuOf(runs.baseline).toFixed(1)} ms in its runs): ${(cpu / cpuOf(runs.baseline)).toFixed(2)} of its CPU per order`
  )
}

/** The single run: this tree measured, with its bounds (and what tracing costs, with CHECKOUT_BENCH_TRACING=1). */
const singleRun = async () => {
  const session = await openMesh(meshOf(root, 'r1'))
  console.log(
    `bench/checkout: ${BUYERS} buyers for ${SECONDS} s, ${SELLERS} sellers × ${PRODUCTS_PER_SELLER} products, the four services as processes`
  )
  const figures = await session.measure(session.started)
  const { latencies, sorted, rate, commitsPerOrder, deliveriesPerOrder, servicesCpu, restCpu } = figures
  // The baseline runs with nothing else on the machine (and the CPU profiles get written).
  await session.stop(session.started)

  // The same checkouts, as long, with the services restarted with tracing on: its cost in this run.
  if (TRACING) {
    const receiver = await startOtlpReceiver({ keepSpans: false })
    try {
      const traced = await session.start({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url })
      const on = await session.measure(traced)
      await session.stop(traced)
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
  await session.close()
  const database = await oneRowTransactions(run.database('baseline'), 400, JSON.stringify({ id: randomUUID() }))
  const { transactions, seconds } = database
  const baseline = transactions / seconds
  const brokers = {}
  for (const type of ['quorum', 'classic']) brokers[type] = await brokerDeliveries(amqpUrl, run.subPrefix(`baseline-${type}`), 20_000, type)
  // The services' queues are of the type they are told (quorum unless AMQP_QUEUE_TYPE says otherwise).
  const broker = brokers[process.env.AMQP_QUEUE_TYPE ?? 'quorum']
  const cpuPerCommit = database.busy / transactions
  // A baseline delivery carries its own publish; in the mesh an event two consumers get is
  // published once, so for those the publish is charged twice: that part errs low.
  const cpuPerDelivery = broker.busy / broker.deliveries
  const cores = availableParallelism()
  const machineBound = cores / (commitsPerOrder * cpuPerCommit + deliveriesPerOrder * cpuPerDelivery)
  const bound = baseline / commitsPerOrder
  const restRate = (cores * latencies.length) / restCpu
  const brokerFigures = ({ deliveries, seconds, busy }) =>
    `${Math.round(deliveries / seconds)} deliveries/s, ${((busy / deliveries) * 1000).toFixed(3)} ms CPU per delivery`
  console.log(
    `marketmesh checkout -> paid: ${rateLine(figures)}, p95 ${percentile(sorted, 95).toFixed(1)} ms\n` +
      `  ${perOrderLine(figures)}\n` +
      `  ${cpuLine(figures)}\n` +
      `baseline database  one-row transactions (node-postgres, 32 writers), nothing else running: ${Math.round(baseline)} transactions/s, ` +
      `${(cpuPerCommit * 1000).toFixed(3)} ms CPU per commit\n` +
      `  bound ${Math.round(bound)} orders/s (reached ${(rate / bound).toFixed(2)}); ` +
      `target >= 500 orders/s with p99 < 500 ms, or >= 0.5 of the bound: ${
        (rate >= 500 && percentile(sorted, 99) < 500) || rate / bound >= 0.5 ? 'met' : 'NOT met'
      }\n` +
      `baseline broker alone (confirms, persistent messages, acks), quorum queue: ${brokerFigures(brokers.quorum)}; ` +
      `classic v2 queue: ${brokerFigures(brokers.classic)}\n` +
      `  machine bound (the commits and deliveries an order takes, at the CPU each costs alone, on ${cores} cores, ` +
      `${process.env.AMQP_QUEUE_TYPE ?? 'quorum'} queues): ${Math.round(machineBound)} orders/s (reached ${(rate / machineBound).toFixed(2)})\n` +
      // What PostgreSQL and RabbitMQ spent per order in this run, as the services drive them: the
      // most the machine would do if the services and the bench took no CPU at all.
      `  with services free: the rest's CPU per order alone allows ${Math.round(restRate)} orders/s (${(restRate / bound).toFixed(2)} of the bound)`
  )
}

try {
  if (against) await verdictAgainst(against)
  else await singleRun()
} finally {
  await statementStats?.end()
  await run.remove()
}
