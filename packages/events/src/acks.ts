import type { ConfirmChannel, ConsumeMessage } from 'amqplib'

type Settlement = 'acked' | 'requeued'

/**
 * The deliveries of one channel, acknowledged in order with `multiple`: when a run of deliveries
 * at the front is settled, one ack frame covers them all instead of one frame each. A delivery
 * settled out of order waits for those before it, so nothing is acked before it is handled; but
 * never more than `holdLimit` of them, so that one slow handler does not use up the prefetch
 * window and stall the others: past it, the waiting ones are acked one by one.
 */
export class AckWindow {
  private readonly unsettled: ConsumeMessage[] = []
  private readonly settled = new Map<number, Settlement>()
  private open = true

  constructor(
    readonly channel: ConfirmChannel,
    private readonly holdLimit: number
  ) {
    channel.once('close', () => (this.open = false))
  }

  /** Once the channel has closed, its deliveries can no longer be settled: the broker redelivers them. */
  get isOpen() {
    return this.open
  }

  received(message: ConsumeMessage) {
    this.unsettled.push(message)
  }

  /** The message is handled (or forwarded to a retry or dead-letter queue). */
  ack(message: ConsumeMessage) {
    this.settle(message, 'acked')
  }

  /** Gives the message back to the queue now; a multiple ack later passes over it. */
  requeue(message: ConsumeMessage) {
    this.tolerateClosed(() => this.channel.nack(message, false, true))
    this.settle(message, 'requeued')
  }

  /** For a batch that failed in an unforeseen way: what it did not settle goes back to the queue. */
  requeueIfUnsettled(message: ConsumeMessage) {
    if (this.unsettled.includes(message) && !this.settled.has(message.fields.deliveryTag)) this.requeue(message)
  }

  private settle(message: ConsumeMessage, settlement: Settlement) {
    this.settled.set(message.fields.deliveryTag, settlement)
    let lastAcked: ConsumeMessage | undefined
    while (this.unsettled.length > 0 && this.settled.has(this.unsettled[0].fields.deliveryTag)) {
      const front = this.unsettled.shift()!
      if (this.settled.get(front.fields.deliveryTag) === 'acked') lastAcked = front
      this.settled.delete(front.fields.deliveryTag)
    }
    if (lastAcked) this.tolerateClosed(() => this.channel.ack(lastAcked, true))
    if (this.settled.size > this.holdLimit) this.releaseHeld()
  }

  private releaseHeld() {
    const held = this.unsettled.filter((message) => this.settled.has(message.fields.deliveryTag))
    for (const message of held) {
      if (this.settled.get(message.fields.deliveryTag) === 'acked') this.tolerateClosed(() => this.channel.ack(message))
      this.settled.delete(message.fields.deliveryTag)
    }
    this.unsettled.splice(0, this.unsettled.length, ...this.unsettled.filter((message) => !held.includes(message)))
  }

  private tolerateClosed(send: () => void) {
    try {
      send()
    } catch {
      // The channel closed under us: the broker redelivers what it had not been told, and the dedupe absorbs it.
    }
  }
}
