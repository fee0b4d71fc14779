import type { ChannelModel, ConsumeMessage } from 'amqplib'

/** RabbitMQ's prefetch is a 16-bit number: the most letters one consumer can hold unacknowledged. */
export const MAX_HELD = 65_535

/** How long without a delivery before the scan asks the broker whether anything is left. */
const IDLE_MS = 100
/**
 * A quorum queue counts a letter as no longer ready once it is assigned to the consumer, before the
 * delivery reaches it: only this long with none ready and none arriving means another client took the rest.
 */
const NOTHING_LEFT_MS = 1_000

export type VisitOutcome = 'next' | 'stop'

export interface ScanOptions {
  /** How many letters to let the broker deliver ahead, given how many the queue holds (at most MAX_HELD are). */
  window: (total: number) => number
  /** Called for each letter in queue order, one at a time. `take` removes it; the others stay. */
  visit: (message: ConsumeMessage, take: Take) => VisitOutcome | Promise<VisitOutcome>
  /** How many letters `visit` has started to take that are not taken yet (a republish awaiting its confirm). */
  taking?: () => number
  /** Runs after the last visit, before the letters not taken go back: waits for what `visit` started. */
  finish?: () => Promise<void>
}

export interface Take {
  (message: ConsumeMessage): void
  /** Removes `message` and the `count` - 1 letters before it that are still held, with one acknowledgement. */
  upTo: (message: ConsumeMessage, count: number) => void
}

export interface ScanResult {
  /** Letters in the queue when the scan began. */
  total: number
  seen: number
  /** Every letter there was at the start was seen (false: stopped early, or held MAX_HELD without taking one). */
  complete: boolean
}

/**
 * Hands the letters of `queue` to `visit` in queue order, removing only those it takes. One
 * consumer holds the letters unacknowledged, so the broker moves on to the next; closing its
 * channel returns every letter not taken to the head of the queue in the order they had (a quorum
 * queue returns one consumer's letters sorted; per-letter nacks or several consumers would not keep
 * that order). Returned letters count a delivery more, which harms nothing: the dead-letter
 * queues are declared without a delivery limit (topology.ts). Letters that arrive during the scan
 * are not visited. Undefined when the queue is not declared.
 */
export const scanQueue = async (connection: ChannelModel, queue: string, options: ScanOptions): Promise<ScanResult | undefined> => {
  const channel = await connection.createChannel()
  let lost: Error | undefined
  channel.on('error', (error: Error) => (lost ??= error))
  channel.on('close', () => (lost ??= new Error(`the channel reading ${queue} closed`)))
  try {
    let total: number
    try {
      total = (await channel.checkQueue(queue)).messageCount
    } catch (error) {
      if ((error as { code?: number }).code === 404) return undefined
      throw error
    }
    if (total === 0) return { total, seen: 0, complete: true }
    const window = Math.max(1, Math.min(options.window(total), MAX_HELD))
    await channel.prefetch(window)

    // Read from `next` on, never shifted: shifting an array of thousands copies it.
    let inbox: ConsumeMessage[] = []
    let next = 0
    let wake: (() => void) | undefined
    let deleted = false
    const { consumerTag } = await channel.consume(queue, (message) => {
      if (message) inbox.push(message)
      else deleted = true
      wake?.()
    })
    let taken = 0
    const take: Take = Object.assign(
      (message: ConsumeMessage) => {
        channel.ack(message)
        taken += 1
      },
      {
        upTo: (message: ConsumeMessage, count: number) => {
          channel.ack(message, true)
          taken += count
        }
      }
    )
    let seen = 0
    let complete = false
    let noneReadySince: number | undefined
    while (seen < total) {
      if (lost) throw lost
      if (deleted) throw new Error(`${queue} was deleted during the scan`)
      const message = inbox[next]
      if (message) {
        next += 1
        if (next === inbox.length) {
          inbox = []
          next = 0
        }
        seen += 1
        if ((await options.visit(message, take)) === 'stop') break
        continue
      }
      let timer: NodeJS.Timeout | undefined
      const arrived = await new Promise<boolean>((resolve) => {
        wake = () => resolve(true)
        timer = setTimeout(() => resolve(false), IDLE_MS)
      })
      clearTimeout(timer)
      wake = undefined
      if (arrived || inbox.length > next) {
        noneReadySince = undefined
        continue
      }
      if ((await channel.checkQueue(queue)).messageCount > 0) noneReadySince = undefined
      else if (inbox.length === next && Date.now() - (noneReadySince ??= Date.now()) >= NOTHING_LEFT_MS) {
        complete = true
        break
      }
      // Holding as many as the broker may deliver, none of them about to be taken: the rest is out of reach.
      if (seen - taken >= window && (options.taking?.() ?? 0) === 0 && inbox.length === next) break
    }
    complete ||= seen >= total
    await options.finish?.()
    if (lost) throw lost
    await channel.cancel(consumerTag)
    return { total, seen, complete }
  } finally {
    await channel.close().catch(() => {})
  }
}
