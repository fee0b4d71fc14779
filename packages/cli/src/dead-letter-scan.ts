import { setTimeout as sleep } from 'node:timers/promises'
import type { ChannelModel, ConsumeMessage } from 'amqplib'

/** RabbitMQ's prefetch is a 16-bit number: the most letters one consumer can hold unacknowledged. */
export const MAX_HELD = 65_535

/** How long without a delivery before the scan asks the broker whether anything is left. */
const IDLE_MS = 100
/** How long the scan waits, at most, for the letters it hands back to be in the queue again. */
const RETURN_TIMEOUT_MS = 5_000
/**
 * A quorum queue counts a letter as no longer ready once it is assigned to the consumer, before the
 * delivery reaches it: only this long with none ready and none arriving means another client took the rest.
 */
const NOTHING_LEFT_MS = 1_000

export type VisitOutcome = 'next' | 'stop'

export interface ScanOptions {
  /** Told how many letters the queue holds, before the first visit. */
  start?: (total: number) => void
  /** Called for each letter in queue order, one at a time, until it says stop. `take` removes it; the others stay. */
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
  /** Every letter there was at the start was seen (false: the queue holds more than one consumer can hold). */
  complete: boolean
}

/**
 * Hands the letters of `queue` to `visit` in queue order, removing only those it takes, and
 * leaves the others in their order. One consumer holds every letter the queue had at the start,
 * unacknowledged, even after `visit` has seen enough; closing its channel then hands them all back
 * in the order they had. (RabbitMQ 3 puts letters handed back behind those still ready, so a scan
 * that stopped early would move the first letters to the end; per-letter nacks or several
 * consumers would not keep the order either.) Handed-back letters count one delivery more, which
 * harms nothing: the dead-letter queues are declared without a delivery limit (topology.ts).
 * Letters that arrive during the scan are not visited. Undefined when the queue is not declared.
 */
export const scanQueue = async (connection: ChannelModel, queue: string, options: ScanOptions): Promise<ScanResult | undefined> => {
  const channel = await connection.createChannel()
  let expected = 0
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
    options.start?.(total)
    const window = Math.min(total, MAX_HELD)
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
    let visiting = true
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
        if (visiting && (await options.visit(message, take)) === 'stop') visiting = false
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
    expected = total - taken
    return { total, seen, complete }
  } finally {
    await channel.close().catch(() => {})
    if (expected > 0) await untilReady(connection, queue, expected)
  }
}

/**
 * The queue takes the letters of a closed channel back a moment after the close: a scan that
 * started before they are back would see the letters behind them first. Waits until they are.
 */
const untilReady = async (connection: ChannelModel, queue: string, expected: number) => {
  const channel = await connection.createChannel()
  channel.on('error', () => {})
  try {
    const deadline = Date.now() + RETURN_TIMEOUT_MS
    while ((await channel.checkQueue(queue)).messageCount < expected && Date.now() < deadline) await sleep(10)
  } catch {
    // The queue is gone: nothing to wait for.
  } finally {
    await channel.close().catch(() => {})
  }
}
