import { eventTypes } from '@marketmesh/events'
import { PRINT_JOB, PRINT_JOB_UPDATED } from '../printing/message-types'

/** What an endpoint may subscribe to: these families, each by its exact type or `<family>.*`, and `ping`. */
export const WEBHOOK_FAMILIES = ['order', 'print.job', 'conversation.message', 'payout', 'product'] as const
export const PING = 'ping'

/** The types that exist today in the families (the catalog's and the print jobs'); conversation and payout types join as they are added. */
export const knownWebhookTypes = () =>
  [...eventTypes, PRINT_JOB, PRINT_JOB_UPDATED].filter((type) => WEBHOOK_FAMILIES.some((family) => type === family || type.startsWith(`${family}.`)))

/** Why `pattern` is no subscription, or undefined if it is one: `order.*`, `order.paid`, `print.job`, `ping`. */
export const patternProblem = (pattern: string) => {
  if (pattern === PING) return undefined
  if (!/^[a-z_]+(\.[a-z_]+)*(\.\*)?$/.test(pattern)) return `'${pattern}' is no event type or pattern (e.g. order.paid, order.*)`
  const family = WEBHOOK_FAMILIES.find((name) => pattern === name || pattern.startsWith(`${name}.`) || pattern === `${name}.*`)
  if (!family) return `'${pattern}' is not offered: one of ${WEBHOOK_FAMILIES.map((name) => `${name}.*`).join(', ')} or ping`
  // The conversation and payout families are being filled: any type in them is taken.
  if (family === 'conversation.message' || family === 'payout' || pattern.endsWith('.*')) return undefined
  if (!knownWebhookTypes().includes(pattern)) return `'${pattern}' is no event type (known: ${knownWebhookTypes().join(', ')})`
  return undefined
}

/** Whether an endpoint subscribed to `patterns` gets `type`. */
export const subscribes = (patterns: readonly string[], type: string) =>
  patterns.some((pattern) => {
    if (!pattern.endsWith('.*')) return pattern === type
    const family = pattern.slice(0, -2)
    return type === family || type.startsWith(`${family}.`)
  })

/** Whether `type` may go to any endpoint at all. */
export const isWebhookType = (type: string) => type === PING || WEBHOOK_FAMILIES.some((family) => type === family || type.startsWith(`${family}.`))
