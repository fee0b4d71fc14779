import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import type { ChannelModel, ConsumeMessage, Message } from 'amqplib'
import { describeDeadLetter, letterFacts, redriveOptions, type DeadLetter } from './dead-letter'
import { scanQueue, type Take } from './dead-letter-scan'
import { matches, type LetterFilter } from './letter-filter'

export interface RedriveRequest {
  /** The consumer's queue the letters failed in. */
  queue: string
  deadLetterQueue: string
  filter: LetterFilter
  limit?: number
  /** Republishes per second; unthrottled when left out. */
  rate?: number
  /** Only lists what would move. */
  dryRun?: boolean
  onProgress?: (progress: RedriveProgress) => void
}

export interface RedriveProgress {
  /** Letters in the dead-letter queue at the start. */
  total: number
  scanned: number
  matched: number
  moved: number
}

export interface RedriveResult extends RedriveProgress {
  /** What the dry run would move. */
  wouldMove: DeadLetter[]
  failure?: Error
  /** Undefined when the dead-letter queue is not declared. */
  declared: boolean
}

/** What tells a returned (unroutable) message from the others in flight. */
const keyOf = (message: Message) => message.properties.messageId ?? message.content.toString('base64')

/**
 * Republishes every matching dead letter to `queue` on a confirm channel, many in flight, and
 * removes each from the dead-letter queue only once the broker has confirmed its copy: a crash in
 * between leaves a duplicate, which the consumer's dedupe absorbs, never a loss. A refused or
 * unroutable copy stops the redrive and its letter stays.
 */
export const redrive = async (connection: ChannelModel, request: RedriveRequest): Promise<RedriveResult> => {
  const { queue, deadLetterQueue, filter, limit, rate, dryRun, onProgress } = request
  const publisher = await connection.createConfirmChannel()
  const progress: RedriveProgress = { total: 0, scanned: 0, matched: 0, moved: 0 }
  const wouldMove: DeadLetter[] = []
  let failure: Error | undefined
  const fail = (error: Error) => (failure ??= error)
  publisher.on('error', (error: Error) => fail(new Error(`the channel publishing to ${queue} failed: ${error.message}`)))
  let closed = false
  let settled: (() => void) | undefined
  publisher.on('close', () => {
    closed = true
    fail(new Error(`the channel publishing to ${queue} closed`))
    // A closed channel never confirms what is still in flight: those letters stay.
    settled?.()
  })
  const returned = new Set<string>()
  publisher.on('return', (message: Message) => returned.add(keyOf(message)))

  let inFlight = 0
  // One acknowledgement for a run of confirmed letters, up to the first letter that stays (kept or
  // refused): acking "all up to" past it would remove it.
  let firstStaying = Infinity
  let run: { last: ConsumeMessage; count: number } | undefined
  let take: Take | undefined
  const flush = () => {
    if (run) take!.upTo(run.last, run.count)
    run = undefined
  }
  const removeConfirmed = (message: ConsumeMessage) => {
    if (message.fields.deliveryTag > firstStaying) return take!(message)
    if (!run) setImmediate(flush)
    run = { last: message, count: (run?.count ?? 0) + 1 }
  }
  const stays = (message: ConsumeMessage) => (firstStaying = Math.min(firstStaying, message.fields.deliveryTag))
  const started = Date.now()
  try {
    const result = await scanQueue(connection, deadLetterQueue, {
      start: (total) => (progress.total = total),
      taking: () => inFlight,
      visit: async (message, taker) => {
        take = taker
        progress.scanned += 1
        if (failure || (limit !== undefined && progress.matched >= limit)) return 'stop'
        if (!matches(filter, letterFacts(message))) {
          stays(message)
          onProgress?.(progress)
          return 'next'
        }
        progress.matched += 1
        if (dryRun) {
          stays(message)
          wouldMove.push(describeDeadLetter(message))
          return 'next'
        }
        if (rate !== undefined) {
          const due = started + ((progress.matched - 1) / rate) * 1000
          if (due > Date.now()) await sleep(due - Date.now())
        }
        const key = keyOf(message)
        inFlight += 1
        const written = publisher.publish('', queue, message.content, redriveOptions(message), (error) => {
          inFlight -= 1
          // The broker returns an unroutable message before it confirms it.
          const refusal = error
            ? `RabbitMQ refused the copy for ${queue} (is it full?)`
            : returned.delete(key)
              ? `${queue} no longer exists`
              : undefined
          if (refusal) {
            stays(message)
            fail(new Error(refusal))
          } else {
            removeConfirmed(message)
            progress.moved += 1
          }
          onProgress?.(progress)
          if (inFlight === 0) settled?.()
        })
        if (!written) await once(publisher, 'drain')
        return 'next'
      },
      finish: async () => {
        while (inFlight > 0 && !closed) await new Promise<void>((resolve) => (settled = resolve))
        flush()
      }
    })
    return { ...progress, wouldMove, failure, declared: result !== undefined }
  } catch (error) {
    return { ...progress, wouldMove, failure: failure ?? (error as Error), declared: true }
  } finally {
    await publisher.close().catch(() => {})
  }
}
