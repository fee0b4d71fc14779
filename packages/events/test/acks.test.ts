import amqplib, { type ConfirmChannel, type ConsumeMessage } from 'amqplib'
import { afterEach, describe, expect, it } from 'vitest'
import { AckWindow } from '../src/acks'
import { AMQP, uniqueName, waitFor } from '@marketmesh/test-support'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** A queue holding `count` messages, and a way to take them on a fresh channel. */
const queueWith = async (count: number) => {
  const connection = await amqplib.connect(AMQP)
  const queue = uniqueName('acks')
  const admin = await connection.createConfirmChannel()
  await admin.assertQueue(queue, { durable: false })
  cleanups.push(async () => {
    await admin.deleteQueue(queue)
    await connection.close()
  })
  for (let i = 0; i < count; i++) admin.sendToQueue(queue, Buffer.from(String(i)))
  await admin.waitForConfirms()

  /** Every message delivered on a fresh channel, registered with an AckWindow over it. */
  const take = async (holdLimit = 10) => {
    const channel: ConfirmChannel = await connection.createConfirmChannel()
    const messages: ConsumeMessage[] = []
    await channel.prefetch(50)
    await channel.consume(queue, (message) => message && messages.push(message))
    await waitFor(() => messages.length === (count as number), { what: `${count} deliveries` })
    const acks = new AckWindow(channel, holdLimit)
    messages.forEach((message) => acks.received(message))
    return { channel, messages, acks }
  }
  /** Closes the channel (unacked messages go back) and counts what is in the queue again. */
  const closeAndCount = async (channel: ConfirmChannel) => {
    await channel.close()
    return (await admin.checkQueue(queue)).messageCount
  }
  return { name: queue, take, closeAndCount }
}

describe('acknowledging in order with multiple', () => {
  it('acks nothing while an earlier delivery is unsettled, then all of them with the earliest', async () => {
    const queue = await queueWith(3)
    const first = await queue.take()
    first.acks.ack(first.messages[1])
    first.acks.ack(first.messages[2])
    expect(await queue.closeAndCount(first.channel)).toBe(3)

    const second = await queue.take()
    for (const index of [2, 1, 0]) second.acks.ack(second.messages[index])
    expect(await queue.closeAndCount(second.channel)).toBe(0)
  })

  it('passes over a requeued delivery and still acks the ones around it', async () => {
    const queue = await queueWith(3)
    const { channel, messages, acks } = await queue.take()
    acks.ack(messages[0])
    acks.requeue(messages[1])
    acks.ack(messages[2])
    // A round trip on the channel: it fails if the broker refused the ack over the requeued tag.
    await channel.checkQueue(queue.name)
    expect(await queue.closeAndCount(channel)).toBe(1)
  })

  it('acks held deliveries one by one past the hold limit, so a slow one does not stall the rest', async () => {
    const queue = await queueWith(4)
    const { channel, messages, acks } = await queue.take(1)
    acks.ack(messages[1])
    acks.ack(messages[2])
    // The first is still being handled; the second and third are acked without waiting for it.
    await channel.checkQueue(queue.name)
    expect(await queue.closeAndCount(channel)).toBe(2)
  })
})
