// bench/events: events per second through the whole outbox path
//   emit (32 concurrent writers, each transaction writing 1 or 10 events) -> relay (confirmed publish)
//   -> RabbitMQ -> consumer process (validation, transaction with the dedupe insert)
// and, in the same run, the two baselines it is made of:
//   broker:   N raw confirmed publishes + consumes with amqp-connection-manager
//   database: 32 writers committing one-row transactions with node-postgres, nothing else running
// Usage: node bench/events.mjs [N] [EVENTS_PER_TRANSACTION...]   (after `npm run build`; default 20000 1 10)
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { benchRun } from './support/bench-run.mjs'
import { BENCH_CONSUMER, BENCH_CONSUMERS } from './support/bench-consumer.mjs'
import { oneRowTransactions, WRITERS } from './support/database-baseline.mjs'
import { orderCreated } from './support/order-created.mjs'

const require = createRequire(import.meta.url)
const { pino } = require('pino')
const { Registry } = require('prom-client')
const amqp = require('amqp-connection-manager')
const { EventBus, eventBackboneMigrations, runInTransaction } = require('@marketmesh/events')
const { baseDefaults, createKnex, deepMerge, ensureDatabase, migrateLatest } = require('@marketmesh/shared')

const N = Number(process.argv[2] ?? 20_000)
/** 1 is a request emitting one event; a checkout emits one order.created per seller, a product edit one per variant. */
const PER_TRANSACTION = process.argv.length > 3 ? process.argv.slice(3).map(Number) : [1, 10]
const TARGET = 5_000
const here = dirname(fileURLToPath(import.meta.url))
// The consumer process's queue is the only one bound (support/bench-consumer.mjs says why).
const run = benchRun('events', { consumers: [BENCH_CONSUMER] })

/** Each writer commits the same number of transactions: N rounded up to fill them. */
const plan = (perTransaction) => {
  const transactionsPerWriter = Math.ceil(N / WRITERS / perTransaction)
  return { transactionsPerWriter, events: transactionsPerWriter * WRITERS * perTransaction }
}

const startConsumer = (mode, expected, prefix, consumerDb) =>
  new Promise((resolve, reject) => {
    const child = run.spawned(
      spawn(process.execPath, [...process.execArgv, join(here, 'events-consumer.mjs'), mode, String(expected), prefix, consumerDb ?? ''], {
        stdio: ['ignore', 'pipe', 'inherit']
      })
    )
    let output = ''
    const done = new Promise((resolveDone) =>
      child.stdout.on('data', (chunk) => {
        output += chunk
        const finished = /done (\d+)/.exec(output)
        if (finished) resolveDone(Number(finished[1]))
      })
    )
    child.stdout.on('data', () => output.includes('ready') && resolve({ child, done }))
    child.once('exit', (code) => code && reject(new Error(`${mode} consumer exited with ${code}`)))
  })

const inParallel = async (workers, perWorker, work) =>
  Promise.all(
    Array.from({ length: workers }, async () => {
      for (let i = 0; i < perWorker; i++) await work()
    })
  )

const benchBroker = async () => {
  const prefix = run.subPrefix('raw')
  const queue = `${prefix}.raw`
  run.declared({ queues: [queue] })
  const { transactionsPerWriter, events } = plan(1)
  const { child, done } = await startConsumer('raw', events, prefix)
  const connection = amqp.connect([baseDefaults.amqp.url])
  const channel = connection.createChannel({ confirm: true })
  await channel.waitForConnect()
  const body = Buffer.from(JSON.stringify({ id: randomUUID(), type: 'order.created', data: orderCreated() }))
  const started = Date.now()
  await inParallel(WRITERS, transactionsPerWriter, () =>
    channel.publish('', queue, body, { persistent: true, messageId: randomUUID(), contentType: 'application/json' })
  )
  const finished = await done
  child.kill()
  await channel.close()
  await connection.close()
  return { events, seconds: (finished - started) / 1000 }
}

const benchDatabase = async () => {
  const { transactionsPerWriter, events } = plan(1)
  const body = JSON.stringify({ id: randomUUID(), type: 'order.created', data: orderCreated() })
  const { seconds } = await oneRowTransactions(run.database('baseline'), transactionsPerWriter, body)
  return { events, seconds }
}

const benchOutbox = async (perTransaction) => {
  const prefix = run.subPrefix(`outbox${perTransaction}`)
  const publisherDb = run.database(`outbox${perTransaction}_publisher`)
  const consumerDb = run.database(`outbox${perTransaction}_consumer`)
  const { transactionsPerWriter, events } = plan(perTransaction)
  for (const url of [publisherDb, consumerDb]) {
    await ensureDatabase(url)
    const db = createKnex({ client: 'pg', connection: url, pool: { min: 0, max: 2 } })
    await migrateLatest(db, eventBackboneMigrations, url)
    await db.destroy()
  }
  const { child, done } = await startConsumer('outbox', events, prefix, consumerDb)
  const settings = deepMerge(baseDefaults, { postgresql: { connection: publisherDb, pool: { min: 0, max: WRITERS + 4 } }, amqp: { prefix } })
  const db = createKnex(settings.postgresql)
  const bus = new EventBus({
    service: 'order-service',
    settings,
    db,
    logger: pino({ level: 'warn' }),
    registry: new Registry(),
    consumers: BENCH_CONSUMERS
  })
  await bus.start()
  const started = Date.now()
  await inParallel(WRITERS, transactionsPerWriter, () =>
    runInTransaction(db, (trx) => bus.emitAll(trx, 'order.created', Array.from({ length: perTransaction }, orderCreated)))
  )
  const emitted = Date.now()
  const finished = await done
  child.kill()
  await bus.stop()
  await db.destroy()
  return { events, seconds: (finished - started) / 1000, emitSeconds: (emitted - started) / 1000 }
}

const rate = (result) => Math.round(result.events / result.seconds)

try {
  console.log(`bench/events: ${N} events per run, ${WRITERS} concurrent writers, consumer in its own process`)
  const broker = await benchBroker()
  console.log(
    `baseline broker    raw confirmed publish + consume (amqp-connection-manager): ${rate(broker)} events/s (${broker.seconds.toFixed(2)} s)`
  )
  const database = await benchDatabase()
  console.log(
    `baseline database  one-row transactions (node-postgres), nothing else running: ${rate(database)} transactions/s (${database.seconds.toFixed(2)} s)`
  )
  for (const perTransaction of PER_TRANSACTION) {
    const outbox = await benchOutbox(perTransaction)
    // The database commits a transaction per `perTransaction` events and the broker carries each event, on the same
    // two cores: were our code free, the rate could not pass what the two baselines leave each other.
    const bound = 1 / (1 / (perTransaction * rate(database)) + 1 / rate(broker))
    console.log(
      `marketmesh outbox  ${perTransaction} event(s) per transaction -> relay -> broker -> consumer + dedupe: ${rate(outbox)} events/s ` +
        `(${outbox.seconds.toFixed(2)} s; emitting took ${outbox.emitSeconds.toFixed(2)} s)\n` +
        `  ratio to broker baseline ${(rate(outbox) / rate(broker)).toFixed(2)}; bound set by the two baselines sharing the machine ` +
        `${Math.round(bound)} events/s (reached ${(rate(outbox) / bound).toFixed(2)}); target >= ${TARGET} events/s: ${rate(outbox) >= TARGET ? 'met' : 'NOT met'}`
    )
  }
} finally {
  await run.remove()
}
