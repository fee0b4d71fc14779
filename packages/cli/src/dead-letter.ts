import type { Message, Options } from 'amqplib'
import { ATTEMPT_HEADER, DEAD_LETTER_HEADERS } from '@marketmesh/shared'

/** What an operator needs to know about one dead letter. */
export interface DeadLetter {
  messageId: string | null
  eventType: string | null
  attempts: number | null
  consumer: string | null
  failedAt: string | null
  error: string | null
  /** The parsed JSON when the body is JSON, else its text. */
  body: unknown
}

const BODY_PREVIEW_CHARS = 200

export const describeDeadLetter = ({ content, properties }: Message): DeadLetter => {
  const headers = properties.headers ?? {}
  const text = (name: string) => (headers[name] === undefined ? null : String(headers[name]))
  const body = content.toString('utf8')
  return {
    messageId: properties.messageId ?? null,
    eventType: text(DEAD_LETTER_HEADERS.routingKey) ?? properties.type ?? null,
    attempts: headers[DEAD_LETTER_HEADERS.attempts] === undefined ? null : Number(headers[DEAD_LETTER_HEADERS.attempts]),
    consumer: text(DEAD_LETTER_HEADERS.consumer),
    failedAt: text(DEAD_LETTER_HEADERS.failedAt),
    // A letter the broker dead-lettered itself (its delivery limit) says why in its own header.
    error: text(DEAD_LETTER_HEADERS.error) ?? brokerReason(headers),
    body: parseJson(body)
  }
}

const brokerReason = (headers: Record<string, unknown>) => {
  const reason = headers['x-first-death-reason']
  return reason === undefined ? null : `dead-lettered by RabbitMQ: ${String(reason)} (from ${String(headers['x-first-death-queue'] ?? 'its queue')})`
}

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

// Bodies and errors carry user input: control characters would drive the operator's terminal.
const printable = (text: string) =>
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`)

const truncate = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text)

export const formatDeadLetter = (letter: DeadLetter) => {
  const body = typeof letter.body === 'string' ? letter.body : JSON.stringify(letter.body)
  return [
    `${letter.messageId ?? '(no message id)'}  ${letter.eventType ?? '(unknown type)'}`,
    `  attempts: ${letter.attempts ?? '-'}  consumer: ${letter.consumer ?? '-'}  failed at: ${letter.failedAt ?? '-'}`,
    `  error:    ${printable(letter.error ?? '(none recorded)')}`,
    `  body:     ${truncate(printable(body), BODY_PREVIEW_CHARS)}`
  ].join('\n')
}

/** Headers that describe the failure; a redriven message starts over without them. */
const FAILURE_HEADERS: string[] = [DEAD_LETTER_HEADERS.error, DEAD_LETTER_HEADERS.attempts, DEAD_LETTER_HEADERS.failedAt]

/** The dead letter's own properties, as a first delivery to its consumer would carry them. */
export const redriveOptions = ({ properties }: Message): Options.Publish => {
  const headers = Object.fromEntries(Object.entries(properties.headers ?? {}).filter(([name]) => !FAILURE_HEADERS.includes(name)))
  return {
    ...properties,
    headers: { ...headers, [ATTEMPT_HEADER]: 1 },
    persistent: true,
    // Unroutable (the queue is gone) comes back as a return instead of vanishing behind a confirm.
    mandatory: true
  }
}
