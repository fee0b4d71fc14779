// The broker baseline of bench/checkout: RabbitMQ alone, nothing else running. Persistent
// order.created envelopes (~550 bytes) through a durable topic exchange into one quorum queue, as
// the services' topology declares them, from 32 publishers on a confirm channel, each awaiting its
// confirm before the next; one consumer with the services' prefetch acks each delivery. What a
// delivery costs the machine when the broker is all there is (the client's CPU counted with it, as
// a service's amqplib is in the mesh).
import { createRequire } from 'node:module'
import { orderCreatedEnvelope } from './order-created.mjs'
import { machineCpuSeconds } from './processes.mjs'

const require = createRequire(import.meta.url)
const amqplib = require('amqplib')

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

/**
 * Publishes `count` messages on objects named after `prefix` and waits until each is confirmed,
 * delivered and acked; returns how many, how long, and the machine's busy CPU seconds meanwhile.
 * Removes the exchange and the queue, also when it fails.
 */
export const quorumDeliveries = async (url, prefix, count) => {
  const exchange = `${prefix}.events`
  const queue = `${prefix}.queue`
  const messages = Array.from({ length: count }, message)
  const connection = await amqplib.connect(url)
  try {
    const publisher = await connection.createConfirmChannel()
    await publisher.assertExchange(exchange, 'topic', { durable: true })
    await publisher.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } })
    await publisher.bindQueue(queue, exchange, 'order.created')
    const consumer = await connection.createChannel()
    await consumer.prefetch(PREFETCH)
    let delivered = 0
    let allDelivered
    const done = new Promise((resolve) => (allDelivered = resolve))
    await consumer.consume(queue, (message) => {
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
            publisher.publish(exchange, 'order.created', body, options, (error) => (error ? reject(error) : resolve()))
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
    await channel.deleteQueue(queue)
    await channel.deleteExchange(exchange)
    await connection.close()
  }
}
