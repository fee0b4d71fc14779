// The broker baseline of bench/checkout: RabbitMQ alone, nothing else running. Persistent
// order.created envelopes (~550 bytes) through a durable topic exchange into one durable queue of
// the type a consumer's queue has (quorum, or classic v2 with `amqp.queueType: classic`), declared
// with the arguments the services' topology gives it, from 32 publishers on a confirm channel, each
// awaiting its confirm before the next; one consumer with the services' prefetch acks each
// delivery. What a delivery costs the machine when the broker is all there is (the client's CPU
// counted with it, as a service's amqplib is in the mesh).
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import { orderCreatedEnvelope } from './order-created.mjs'
import { machineCpuSeconds } from './processes.mjs'

const require = createRequire(import.meta.url)
const amqplib = require('amqplib')
const { declareConsumerQueues, declareExchanges, consumerQueueNames, exchangeNames, QUEUE_TYPES } = require('@marketmesh/events')

export const PUBLISHERS = 32
const PREFETCH = 200

const message = () => {
  const envelope = orderCreatedEnvelope()
  return {
    body: Buffer.from(JSON.stringify(envelope)),
    // The properties the outbox relay publishes with.
    options: {
      persistent: true,
      messageId: envelope.id,
      type: envelope.type,
      contentType: 'application/json',
      timestamp: Math.floor(Date.now() / 1000),
      headers: { 'x-request-id': envelope.correlationId }
    }
  }
}

/** The consumer whose queue the baseline declares at its prefix (in the services' topology, retry and dead-letter queues with it). */
export const BASELINE_CONSUMER = 'baseline'

/**
 * Publishes `count` messages at `prefix` into the queue of BASELINE_CONSUMER, of `queueType`, and
 * waits until each is confirmed, delivered and acked; returns how many, how long, and the machine's
 * busy CPU seconds meanwhile. Removes what it declared, also when it fails.
 */
export const brokerDeliveries = async (url, prefix, count, queueType) => {
  const { events } = exchangeNames(prefix)
  const names = consumerQueueNames(prefix, BASELINE_CONSUMER)
  const messages = Array.from({ length: count }, message)
  const connection = await amqplib.connect(url)
  try {
    const publisher = await connection.createConfirmChannel()
    await declareExchanges(publisher, prefix)
    await declareConsumerQueues(publisher, { prefix, retryDelaysMs: [], queueType }, BASELINE_CONSUMER, ['order.created'])
    const consumer = await connection.createChannel()
    await consumer.prefetch(PREFETCH)
    let delivered = 0
    let allDelivered
    const done = new Promise((resolve) => (allDelivered = resolve))
    await consumer.consume(names.queue, (message) => {
      // null: the consumer is cancelled (the queue deleted at the end).
      if (!message) return
      consumer.ack(message)
      if (++delivered === count) allDelivered()
    })

    const cpuBefore = machineCpuSeconds().busy
    const started = performance.now()
    await Promise.all(
      Array.from({ length: PUBLISHERS }, async (_, p) => {
        for (let i = p; i < count; i += PUBLISHERS) {
          const { body, options } = messages[i]
          await new Promise((resolve, reject) =>
            publisher.publish(events, 'order.created', body, options, (error) => (error ? reject(error) : resolve()))
          )
        }
      })
    )
    await done
    const seconds = (performance.now() - started) / 1000
    return { deliveries: count, seconds, busy: machineCpuSeconds().busy - cpuBefore }
  } finally {
    // A channel of its own: a failed operation closes the channel it ran on.
    const channel = await connection.createChannel()
    for (const queue of [names.queue, names.deadLetterQueue]) await channel.deleteQueue(queue)
    for (const exchange of Object.values(exchangeNames(prefix))) await channel.deleteExchange(exchange)
    await connection.close()
  }
}

// `node bench/support/broker-baseline.mjs [count=20000] [rounds=3]`: the two queue types alone,
// alternately (a shared machine's load drifts), each round's figures and the means.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { benchRun } = await import('./bench-run.mjs')
  const count = Number(process.argv[2] ?? 20_000)
  const rounds = Number(process.argv[3] ?? 3)
  const run = benchRun('broker', { consumers: [BASELINE_CONSUMER] })
  const url = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672'
  const figures = { quorum: [], classic: [] }
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const type of QUEUE_TYPES) {
        const { deliveries, seconds, busy } = await brokerDeliveries(url, run.subPrefix(`${type}${round}`), count, type)
        figures[type].push({ rate: deliveries / seconds, cpuMs: (busy * 1000) / deliveries })
        console.log(
          `round ${round} ${type.padEnd(7)} ${Math.round(deliveries / seconds)} deliveries/s, ${((busy * 1000) / deliveries).toFixed(3)} ms CPU per delivery`
        )
      }
    }
    const mean = (type, key) => figures[type].reduce((sum, f) => sum + f[key], 0) / rounds
    for (const type of QUEUE_TYPES)
      console.log(`mean    ${type.padEnd(7)} ${Math.round(mean(type, 'rate'))} deliveries/s, ${mean(type, 'cpuMs').toFixed(3)} ms CPU per delivery`)
    console.log(
      `classic/quorum: ${(mean('classic', 'rate') / mean('quorum', 'rate')).toFixed(2)}× the deliveries/s, ${(mean('classic', 'cpuMs') / mean('quorum', 'cpuMs')).toFixed(2)}× the CPU per delivery`
    )
  } finally {
    await run.remove()
  }
}
