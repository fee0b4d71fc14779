// The consuming side of bench/events.mjs, in its own process as it would be in production.
//   outbox: the real EventBus consumer (validation, one transaction per batch, dedupe insert)
//   raw:    a bare amqp-connection-manager consumer that acks each message (the baseline)
import { createRequire } from 'node:module'
import { BENCH_CONSUMER, BENCH_CONSUMERS } from './support/bench-consumer.mjs'

const require = createRequire(import.meta.url)
const { pino } = require('pino')
const { Registry } = require('prom-client')
const amqp = require('amqp-connection-manager')
const { EventBus } = require('@marketmesh/events')
const { baseDefaults, createKnex, deepMerge } = require('@marketmesh/shared')

const [mode, total, prefix, databaseUrl] = process.argv.slice(2)
const expected = Number(total)
let consumed = 0
const count = () => {
  consumed += 1
  if (consumed === expected) process.stdout.write(`done ${Date.now()}\n`)
}

if (mode === 'outbox') {
  const settings = deepMerge(baseDefaults, { postgresql: { connection: databaseUrl }, amqp: { prefix } })
  const db = createKnex(settings.postgresql)
  const bus = new EventBus({
    service: BENCH_CONSUMER,
    settings,
    db,
    logger: pino({ level: 'warn' }),
    registry: new Registry(),
    consumers: BENCH_CONSUMERS
  })
  bus.on('order.created', async () => count())
  await bus.start()
  await bus.whenConsuming()
} else {
  const connection = amqp.connect([baseDefaults.amqp.url])
  const channel = connection.createChannel({
    setup: async (ch) => {
      await ch.assertQueue(`${prefix}.raw`, { durable: true, arguments: { 'x-queue-type': 'quorum' } })
      await ch.prefetch(baseDefaults.amqp.prefetch)
      await ch.consume(`${prefix}.raw`, (message) => {
        ch.ack(message)
        count()
      })
    }
  })
  await channel.waitForConnect()
}
process.once('SIGTERM', () => process.exit(0))
process.stdout.write('ready\n')
