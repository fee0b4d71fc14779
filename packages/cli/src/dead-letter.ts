import type { Message, Options } from 'amqplib'
import { ATTEMPT_HEADER, DEAD_LETTER_HEADERS, REDRIVE_HEADER } from '@marketmesh/shared/ops'

/** What an operator needs to know about one dead letter, and what filters match on. */
export interface LetterFacts {
  messageId: string | null
  eventType: string | null
  attempts: number | null
  consumer: string | null
  failedAt: string | null
  error: string | null
  /** How often it was redriven before. */
  redrives: number
}

export interface DeadLetter extends LetterFacts {
  /** The parsed JSON when the body is JSON, else its text. */
  body: unknown
}

const BODY_PREVIEW_CHARS = 200

/** The facts without the body, which a redrive of thousands need not parse. */
export const letterFacts = ({ properties }: Message): LetterFacts => {
  const headers = properties.headers ?? {}
  const text = (name: string) => (headers[name] === undefined ? null : String(headers[name]))
  return {
    messageId: properties.messageId ?? null,
    eventType: text(DEAD_LETTER_HEADERS.routingKey) ?? properties.type ?? null,
    attempts: headers[DEAD_LETTER_HEADERS.attempts] === undefined ? null : Number(headers[DEAD_LETTER_HEADERS.attempts]),
    consumer: text(DEAD_LETTER_HEADERS.consumer),
    failedAt: text(DEAD_LETTER_HEADERS.failedAt) ?? brokerDeathTime(headers),
    // A letter the broker dead-lettered itself (its delivery limit) says why in its own header.
    error: text(DEAD_LETTER_HEADERS.error) ?? brokerReason(headers),
    redrives: Number(headers[REDRIVE_HEADER] ?? 0)
  }
}

export const describeDeadLetter = (message: Message): DeadLetter => ({ ...letterFacts(message), body: parseJson(message.content.toString('utf8')) })

const brokerReason = (headers: Record<string, unknown>) => {
  const reason = headers['x-first-death-reason']
  return reason === undefined ? null : `dead-lettered by RabbitMQ: ${String(reason)} (from ${String(headers['x-first-death-queue'] ?? 'its queue')})`
}

/** RabbitMQ records when it dead-lettered a message in x-death, in seconds. */
const brokerDeathTime = (headers: Record<string, unknown>) => {
  const [death] = Array.isArray(headers['x-death']) ? (headers['x-death'] as Array<{ time?: unknown }>) : []
  const seconds = typeof death?.time === 'object' && death.time !== null ? (death.time as { value?: unknown }).value : death?.time
  return typeof seconds === 'number' ? new Date(seconds * 1000).toISOString() : null
}

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

// Bodies and errors carry user input: control characters would drive the operator's terminal.
export const printable = (text: string) =>
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`)

const truncate = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text)

/** The first line of the error: what the counts of `dlq list` group by. */
export const errorSummary = (letter: LetterFacts) => printable((letter.error ?? '(none recorded)').split('\n')[0])

/** One line per letter, for `redrive --dry-run` and the like. */
export const formatLetterLine = (letter: LetterFacts) =>
  `${letter.messageId ?? '(no message id)'}  ${letter.eventType ?? '(unknown type)'}  ${letter.failedAt ?? '-'}  ${truncate(errorSummary(letter), 120)}`

export const formatDeadLetter = (letter: DeadLetter) => {
  const body = typeof letter.body === 'string' ? letter.body : JSON.stringify(letter.body)
  return [
    `${letter.messageId ?? '(no message id)'}  ${letter.eventType ?? '(unknown type)'}`,
    `  attempts: ${letter.attempts ?? '-'}  consumer: ${letter.consumer ?? '-'}  failed at: ${letter.failedAt ?? '-'}  redrives: ${letter.redrives}`,
    `  error:    ${printable(letter.error ?? '(none recorded)')}`,
    `  body:     ${truncate(printable(body), BODY_PREVIEW_CHARS)}`
  ].join('\n')
}

/**
 * Headers that describe the failure, or that the broker set on its deliveries from the dead-letter
 * queue: a redriven message starts over without them.
 */
const FAILURE_HEADERS = new Set<string>([DEAD_LETTER_HEADERS.error, DEAD_LETTER_HEADERS.attempts, DEAD_LETTER_HEADERS.failedAt, 'x-delivery-count'])

/** The dead letter's own properties, as a first delivery to its consumer would carry them, with one redrive more. */
export const redriveOptions = ({ properties }: Message): Options.Publish => {
  const original = properties.headers ?? {}
  // A loop, not entries/filter/fromEntries: a redrive builds these thousands of times a second.
  const headers: Record<string, unknown> = {}
  for (const name in original) if (!FAILURE_HEADERS.has(name)) headers[name] = original[name]
  headers[ATTEMPT_HEADER] = 1
  headers[REDRIVE_HEADER] = Number(original[REDRIVE_HEADER] ?? 0) + 1
  return {
    ...properties,
    headers,
    persistent: true,
    // Unroutable (the queue is gone) comes back as a return instead of vanishing behind a confirm.
    mandatory: true
  }
}
