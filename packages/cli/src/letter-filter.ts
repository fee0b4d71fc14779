import { InvalidArgumentError, Option, type Command } from 'commander'
import { durationMs, eventTypes } from '@marketmesh/shared/ops'
import type { LetterFacts } from './dead-letter'

/** Which dead letters a command acts on; every part given must match. */
export interface LetterFilter {
  type?: string
  /** Part of the error, in any case. */
  error?: string
  /** Failed at most this many milliseconds ago. */
  sinceMs?: number
  id?: string
}

export const positiveInteger = (value: string) => {
  const number = Number(value)
  if (!Number.isInteger(number) || number < 1) throw new InvalidArgumentError('expected a whole number of at least 1')
  return number
}

const duration = (value: string) => {
  if (!/^[0-9]+[smhd]$/.test(value)) throw new InvalidArgumentError('expected a number and s, m, h or d, e.g. 30m or 2d')
  return durationMs(value)
}

/** --type, --error, --since and --id, the same on show, redrive and purge. */
export const addFilterOptions = (command: Command) =>
  command
    .addOption(new Option('--type <type>', 'only letters of this event type').choices(eventTypes))
    .option('--error <text>', 'only letters whose error contains this text (any case)')
    .option('--since <duration>', 'only letters that failed within this long, e.g. 30m, 2h, 7d', duration)
    .option('--id <messageId>', 'only the letter with this message id')

export const filterFrom = (options: { type?: string; error?: string; since?: number; id?: string }): LetterFilter => ({
  type: options.type,
  error: options.error?.toLowerCase(),
  sinceMs: options.since,
  id: options.id
})

export const hasFilter = (filter: LetterFilter) => Object.values(filter).some((value) => value !== undefined)

export const describeFilter = (filter: LetterFilter) =>
  [
    filter.type && `type ${filter.type}`,
    filter.error && `error containing "${filter.error}"`,
    filter.sinceMs !== undefined && `failed in the last ${filter.sinceMs / 1000} s`,
    filter.id && `message id ${filter.id}`
  ]
    .filter(Boolean)
    .join(', ') || 'all'

export const matches = (filter: LetterFilter, letter: LetterFacts, now = Date.now()) => {
  if (filter.type !== undefined && letter.eventType !== filter.type) return false
  if (filter.id !== undefined && letter.messageId !== filter.id) return false
  if (filter.error !== undefined && !(letter.error ?? '').toLowerCase().includes(filter.error)) return false
  if (filter.sinceMs !== undefined) {
    const failedAt = letter.failedAt === null ? Number.NaN : Date.parse(letter.failedAt)
    if (!(failedAt >= now - filter.sinceMs)) return false
  }
  return true
}
