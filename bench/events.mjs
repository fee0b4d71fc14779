// bench/events: events per second through the whole outbox path
//   emit (32 concurrent writers, PER_TRANSACTION events in each transaction) -> relay (confirmed publish)
//   -> RabbitMQ -> consumer process (validation, transaction with the dedupe insert)
// against, in the same run, N raw confirmed publishes + consumes with amqp-connection-manager.
// Usage: node bench/events.mjs [N] [PER_TRANSACTION]   (after `npm run build`)
import { spawn } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const { pino } = require('pino')
const { Registry } = require('prom-client')
const amqp = require('amqp-connection-manager')
const {
  baseDefaults, consumerQueueNames, createKnex, deepMerge, dropDatabase, ensureDatabase, EventBus,
  eventBackboneMigrations, exchangeNames, migrateLatest
} = require('@marketmesh/shared')

const N = Number(process.argv[2] ?? 20_000)
/** Events written per transaction: 1 is one request emitting one event; a checkout emits one per seller. */
const PER_TRANSACTION = Number(process.argv[3] ?? 1)
const WRITERS = 32
const here = dirname(fileURLToPath(import.meta.url))
const run = `mmbench_${Date.now().toString(36)}${randomBytes(2).toString('hex')}`
const prefix = run.replace(/_/g, '.')
const postgres = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432'
const publisherDb = `${postgres}/${run}_publisher`
const consumerDb = `${postgres}/${run}_consumer`

const startConsumer = (mode) =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, 'events-consumer.mjs'), mode, String(N), prefix, consumerDb], {
      stdio: ['ignore', 'pipe', 'inherit']
    })
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

const orderCreated = () => ({
  orderId: randomUUID(), buyerId: randomUUID(), sellerId: randomUUID(), checkoutId: randomUUID(),
  lines: [{ productId: randomUUID(), quantity: 2, unitPrice: 1999 }], total: 3998, currency: 'EUR'
})

const inParallel = async (workers, perWorker, work) =>
  Promise.all(Array.from({ length: workers }, async () => { for (let i = 0; i < perWorker; i++) await work() }))

const benchOutbox = async () => {
  for (const url of [publisherDb, consumerDb]) {
    await ensureDatabase(url)
    const db = createKnex({ client: 'pg', connection: url, pool: { min: 0, max: 2 } })
    await migrateLatest(db, eventBackboneMigrations)
    await db.destroy()
  }
  const { child, done } = await startConsumer('outbox')
  const settings = deepMerge(baseDefaults, { postgresql: { connection: publisherDb, pool: { min: 0, max: WRITERS + 4 } }, amqp: { prefix } })
  const db = createKnex(settings.postgresql)
  const bus = new EventBus({ service: 'order-service', settings, db, logger: pino({ level: 'warn' }), registry: new Registry() })
  await bus.start()
  const started = Date.now()
  await inParallel(WRITERS, N / WRITERS / PER_TRANSACTION, () =>
    db.transaction(async (trx) => {
      for (let i = 0; i < PER_TRANSACTION; i++) await bus.emit(trx, 'order.created', orderCreated())
    })
  )
  const emitted = Date.now()
  const finished = await done
  child.kill()
  await bus.stop()
  await db.destroy()
  return { seconds: (finished - started) / 1000, emitSeconds: (emitted - started) / 1000 }
}

const benchRaw = async () => {
  const { child, done } = await startConsumer('raw')
  const connection = amqp.connect([baseDefaults.amqp.url])
  const channel = connection.createChannel({ confirm: true })
  await channel.waitForConnect()
  const body = Buffer.from(JSON.stringify({ id: randomUUID(), type: 'order.created', data: orderCreated() }))
  const started = Date.now()
  await inParallel(WRITERS, N / WRITERS, () =>
    channel.publish('', `${prefix}.raw`, body, { persistent: true, messageId: randomUUID(), contentType: 'application/json' })
  )
  const finished = await done
  child.kill()
  await channel.close()
  await connection.close()
  return { seconds: (finished - started) / 1000 }
}

const cleanUp = async () => {
  const connection = amqp.connect([baseDefaults.amqp.url])
  const channel = connection.createChannel({
    setup: async (ch) => {
      const names = consumerQueueNames(prefix, 'bench-consumer')
      for (const queue of [names.queue, names.deadLetterQueue, ...baseDefaults.amqp.retryDelaysMs.map(names.retryQueue), `${prefix}.raw`]) {
        await ch.deleteQueue(queue)
      }
      await ch.deleteExchange(exchangeNames(prefix).events)
      await ch.deleteExchange(exchangeNames(prefix).deadLetters)
    }
  })
  await channel.waitForConnect()
  await connection.close()
  for (const url of [publisherDb, consumerDb]) await dropDatabase(url)
}

try {
  console.log(`bench/events: ${N} events, ${WRITERS} concurrent writers, ${PER_TRANSACTION} event(s) per transaction, consumer in its own process`)
  const raw = await benchRaw()
  const outbox = await benchOutbox()
  const rate = (result) => Math.round(N / result.seconds)
  console.log(`baseline  raw confirmed publish + consume (amqp-connection-manager): ${rate(raw)} events/s (${raw.seconds.toFixed(2)} s)`)
  console.log(`marketmesh outbox -> relay -> broker -> consumer + dedupe:          ${rate(outbox)} events/s (${outbox.seconds.toFixed(2)} s; emitting took ${outbox.emitSeconds.toFixed(2)} s)`)
  console.log(`ratio outbox/baseline: ${(rate(outbox) / rate(raw)).toFixed(2)}   target: >= 5000 events/s through the outbox -> ${rate(outbox) >= 5000 ? 'met' : 'NOT met'}`)
} finally {
  await cleanUp()
}
