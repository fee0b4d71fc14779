import { randomBytes, randomUUID } from 'node:crypto'
import { Conflict, NotFound } from '@feathersjs/errors'
import { invalidField, type Knex, type Principal } from '@marketmesh/shared'
import { patternProblem } from './event-patterns'
import type { SecretBox } from './secret-box'
import { RefusedTarget, resolveTarget, urlProblem, type TargetPolicy } from './target'

/**
 * A webhook endpoint's life. Its owner is a seller (it gets the shop's events) or an admin (the
 * platform's); every read and change is its owner's alone, and another's is "not found". The
 * secret is shown when made and when rotated, never again; the previous one keeps signing for
 * ROTATION_OVERLAP_MS so receivers can switch without losing a delivery. Secrets are stored sealed
 * (SecretBox): the rows hold them encrypted, the sender opens them to sign.
 */

export const webhookEndpointStatuses = ['enabled', 'disabled'] as const
export type WebhookEndpointStatus = (typeof webhookEndpointStatuses)[number]

export interface WebhookEndpointRow {
  id: string
  sellerId: string | null
  ownerId: string
  ownerRole: string
  url: string
  events: string[]
  description: string | null
  status: WebhookEndpointStatus
  disabledReason: string | null
  /** Sealed (SecretBox), as is previousSecret. */
  secret: string
  previousSecret: string | null
  previousSecretExpiresAt: Date | null
  failingSince: Date | null
  createdAt: Date
  updatedAt: Date
}

/** An endpoint as its owner sees it: no secret. */
export interface WebhookEndpoint {
  id: string
  url: string
  events: string[]
  description: string | null
  status: WebhookEndpointStatus
  disabledReason: string | null
  createdAt: string
  updatedAt: string
}

export const ROTATION_OVERLAP_MS = 24 * 3_600_000

/** `whsec_` and 32 random bytes in base64, as the Standard Webhooks libraries take it. */
export const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`

export const endpointView = (row: WebhookEndpointRow): WebhookEndpoint => ({
  id: row.id,
  url: row.url,
  events: row.events,
  description: row.description,
  status: row.status,
  disabledReason: row.disabledReason,
  createdAt: new Date(row.createdAt).toISOString(),
  updatedAt: new Date(row.updatedAt).toISOString()
})

/** Whose endpoints a caller works on: a seller their own, an admin their own. */
const ownedBy = (principal: Principal) => ({ ownerId: principal.id })

/** The caller's endpoint `id`, locked in `trx` when given; 404 for anyone else's. */
export const ownEndpoint = async (db: Knex, principal: Principal, id: string, { lock = false } = {}): Promise<WebhookEndpointRow> => {
  const query = db('webhook_endpoints')
    .first()
    .where({ id, ...ownedBy(principal) })
  const row = await (lock ? query.forUpdate() : query)
  if (!row) throw new NotFound(`No webhook endpoint '${id}' of yours`)
  return row
}

export const listOwnEndpoints = (db: Knex, principal: Principal): Promise<WebhookEndpointRow[]> =>
  db('webhook_endpoints').where(ownedBy(principal)).orderBy('createdAt', 'desc')

/** Refuses a URL that is not https (in production) or resolves to a refused address; the field named. */
const checkUrl = async (url: string, policy: TargetPolicy) => {
  const problem = urlProblem(url, policy)
  if (problem) throw invalidField('url', problem)
  try {
    await resolveTarget(new URL(url), policy)
  } catch (error) {
    const message =
      error instanceof RefusedTarget ? error.message : `cannot be resolved (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`
    throw invalidField('url', message)
  }
}

const checkEvents = (events: string[]) => {
  for (const [index, pattern] of events.entries()) {
    const problem = patternProblem(pattern)
    if (problem) throw invalidField(`events/${index}`, problem)
  }
}

export interface NewEndpoint {
  url: string
  events: string[]
  description?: string
}

/** Registers an endpoint for `principal`; answers it with its secret, the one time that is shown. */
export const createEndpoint = async (
  trx: Knex.Transaction,
  principal: Principal,
  data: NewEndpoint,
  { policy, maxPerOwner, secrets }: { policy: TargetPolicy; maxPerOwner: number; secrets: SecretBox }
) => {
  checkEvents(data.events)
  await checkUrl(data.url, policy)
  // Serialises one owner's registrations, so two at once cannot both be the tenth.
  await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`webhook-endpoints:${principal.id}`])
  const [{ count }] = await trx('webhook_endpoints').where(ownedBy(principal)).count({ count: '*' })
  if (Number(count) >= maxPerOwner) throw new Conflict(`You have ${maxPerOwner} webhook endpoints, the most one may have: delete one first`)
  const secret = newSecret()
  const [row] = await trx('webhook_endpoints')
    .insert({
      id: randomUUID(),
      sellerId: principal.role === 'seller' ? principal.sellerId : null,
      ownerId: principal.id,
      ownerRole: principal.role,
      url: data.url,
      events: [...new Set(data.events)],
      description: data.description ?? null,
      secret: secrets.seal(secret)
    })
    .returning('*')
  return { ...endpointView(row), secret }
}

export interface EndpointChanges {
  url?: string
  events?: string[]
  description?: string | null
  status?: WebhookEndpointStatus
}

export const updateEndpoint = async (trx: Knex.Transaction, principal: Principal, id: string, changes: EndpointChanges, policy: TargetPolicy) => {
  await ownEndpoint(trx, principal, id, { lock: true })
  if (changes.events) checkEvents(changes.events)
  if (changes.url !== undefined) await checkUrl(changes.url, policy)
  const [row] = await trx('webhook_endpoints')
    .where({ id })
    .update({
      ...(changes.url !== undefined && { url: changes.url }),
      ...(changes.events && { events: [...new Set(changes.events)] }),
      ...(changes.description !== undefined && { description: changes.description }),
      ...(changes.status === 'enabled' && { status: 'enabled', disabledReason: null, failingSince: null }),
      updatedAt: trx.fn.now()
    })
    .returning('*')
  if (changes.status === 'disabled') return endpointView(await disableEndpoint(trx, id, null))
  return endpointView(row)
}

/**
 * Disables an endpoint (its owner, or the sender with a `reason`): its pending deliveries are
 * failed, not left to go out whenever it is enabled again; its owner may retry them then.
 */
export const disableEndpoint = async (trx: Knex.Transaction, id: string, reason: string | null): Promise<WebhookEndpointRow> => {
  const [row] = await trx('webhook_endpoints')
    .where({ id })
    .update({ status: 'disabled', disabledReason: reason, updatedAt: trx.fn.now() })
    .returning('*')
  await trx('webhook_deliveries').where({ endpointId: id, status: 'pending' }).update({ status: 'failed', finishedAt: trx.fn.now() })
  return row
}

export const removeEndpoint = async (trx: Knex.Transaction, principal: Principal, id: string) => {
  const row = await ownEndpoint(trx, principal, id, { lock: true })
  await trx('webhook_endpoints').where({ id }).delete()
  return endpointView(row)
}

/** A new secret; the one it replaces keeps signing beside it for ROTATION_OVERLAP_MS. Answers the new one, once. */
export const rotateSecret = async (trx: Knex.Transaction, principal: Principal, id: string, secrets: SecretBox) => {
  const current = await ownEndpoint(trx, principal, id, { lock: true })
  const secret = newSecret()
  const [row] = await trx('webhook_endpoints')
    .where({ id })
    .update({
      secret: secrets.seal(secret),
      // Sealed again: under the box's first key, should it have changed since.
      previousSecret: secrets.seal(secrets.open(current.secret)),
      previousSecretExpiresAt: new Date(Date.now() + ROTATION_OVERLAP_MS),
      updatedAt: trx.fn.now()
    })
    .returning('*')
  return { ...endpointView(row), secret }
}
