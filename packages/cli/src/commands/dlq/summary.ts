import type { ChannelModel } from 'amqplib'
import { consumerQueueNames } from '@marketmesh/shared/ops'
import { letterFacts, errorSummary } from '../../dead-letter'
import { scanQueue } from '../../dead-letter-scan'

/** One consumer's dead letters at a glance. */
export interface DeadLetterSummary {
  consumer: string
  queue: string
  declared: boolean
  depth: number
  /** How many were read for the counts (all of them, unless the queue holds more than one consumer may hold). */
  scanned: number
  oldestFailedAt: string | null
  oldestAgeSeconds: number | null
  byType: Record<string, number>
  byError: Record<string, number>
}

const countInto = (counts: Record<string, number>, key: string) => (counts[key] = (counts[key] ?? 0) + 1)

/** Reads every letter of the consumer's dead-letter queue (leaving them there) and counts them by type and by error. */
export const summarizeDeadLetters = async (connection: ChannelModel, prefix: string, consumer: string): Promise<DeadLetterSummary> => {
  const queue = consumerQueueNames(prefix, consumer).deadLetterQueue
  const byType: Record<string, number> = {}
  const byError: Record<string, number> = {}
  let oldest: number | undefined
  const result = await scanQueue(connection, queue, {
    visit: (message) => {
      const letter = letterFacts(message)
      countInto(byType, letter.eventType ?? '(unknown type)')
      countInto(byError, errorSummary(letter))
      const failedAt = letter.failedAt === null ? Number.NaN : Date.parse(letter.failedAt)
      if (failedAt < (oldest ?? Infinity)) oldest = failedAt
      return 'next'
    }
  })
  return {
    consumer,
    queue,
    declared: result !== undefined,
    depth: result?.total ?? 0,
    scanned: result?.seen ?? 0,
    oldestFailedAt: oldest === undefined ? null : new Date(oldest).toISOString(),
    oldestAgeSeconds: oldest === undefined ? null : Math.round((Date.now() - oldest) / 1000),
    byType,
    byError
  }
}
