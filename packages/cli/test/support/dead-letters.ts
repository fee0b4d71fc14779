import type { ChannelModel, ConsumeMessage } from 'amqplib'

export interface LetterSnapshot {
  id: string | undefined
  body: string
  headers: Record<string, unknown>
}

/** Counts the broker adds to every delivery; not part of a letter's content. */
const DELIVERY_HEADERS = ['x-delivery-count']

/**
 * Every message in `queue`, in queue order, left in place: one consumer holds them all, then its
 * channel closes and the queue takes them back in that order.
 */
export const snapshotQueue = async (connection: ChannelModel, queue: string): Promise<LetterSnapshot[]> => {
  const channel = await connection.createChannel()
  let expected = 0
  try {
    const { messageCount } = await channel.checkQueue(queue)
    expected = messageCount
    if (messageCount === 0) return []
    await channel.prefetch(messageCount)
    const messages: ConsumeMessage[] = []
    await new Promise<void>((resolve) => {
      void channel.consume(queue, (message) => {
        messages.push(message!)
        if (messages.length === messageCount) resolve()
      })
    })
    return messages.map(({ content, properties }) => ({
      id: properties.messageId,
      body: content.toString(),
      headers: Object.fromEntries(Object.entries(properties.headers ?? {}).filter(([name]) => !DELIVERY_HEADERS.includes(name)))
    }))
  } finally {
    await channel.close()
    // The queue takes them back a moment after the close.
    while ((await messageCount(connection, queue)) < expected) await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

export const messageCount = async (connection: ChannelModel, queue: string) => {
  const channel = await connection.createChannel()
  try {
    return (await channel.checkQueue(queue)).messageCount
  } finally {
    await channel.close()
  }
}
