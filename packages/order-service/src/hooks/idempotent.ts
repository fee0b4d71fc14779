import { createHash } from 'node:crypto'
import { BadRequest, Conflict, Unprocessable } from '@feathersjs/errors'
import type { NextFunction } from '@feathersjs/feathers'
import { queryInTransaction, queryPooled } from '@marketmesh/events'
import { durationMs, principalOf, transactionOf, type ServiceHookContext } from '@marketmesh/shared'

export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key'
export const REPLAYED_HEADER = 'Idempotent-Replayed'

// First key of the advisory lock held while a request with a given key runs.
const IDEMPOTENCY_LOCK = 0x69646b79

// On every checkout and refund: written once as SQL, not built per request.
const TRY_LOCK = 'SELECT pg_try_advisory_xact_lock($1, hashtext($2)) AS locked'
const STORED = 'SELECT "requestHash", status, body FROM idempotency_keys WHERE "buyerId" = $1 AND key = $2 AND "expiresAt" > now() LIMIT 1'
// An expired key is used afresh.
const STORE = `
  INSERT INTO idempotency_keys ("buyerId", key, "requestHash", status, body, "expiresAt")
  VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))
  ON CONFLICT ("buyerId", key) DO UPDATE
    SET "requestHash" = EXCLUDED."requestHash", status = EXCLUDED.status, body = EXCLUDED.body, "expiresAt" = EXCLUDED."expiresAt"`
const COMPLETE = 'UPDATE idempotency_keys SET body = $3 WHERE "buyerId" = $1 AND key = $2'

/** The same JSON with its object keys sorted: the same request body, however its keys were ordered. */
const canonical = (value: unknown): string =>
  Array.isArray(value)
    ? `[${value.map(canonical).join(',')}]`
    : value !== null && typeof value === 'object'
      ? `{${Object.keys(value)
          .sort()
          .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
          .join(',')}}`
      : JSON.stringify(value)

const keyOf = (context: ServiceHookContext) => {
  const value = context.params.headers?.[IDEMPOTENCY_KEY_HEADER]
  if (value === undefined) {
    throw new BadRequest(
      'Missing Idempotency-Key header: send a unique key (1–255 characters) with every request of this kind, and the same key when you retry it'
    )
  }
  const key = Array.isArray(value) ? value[0] : String(value)
  if (key.length < 1 || key.length > 255) throw new BadRequest('Invalid Idempotency-Key header: must be 1 to 255 characters')
  return key
}

/**
 * Around hook, inside `inTransaction()`, for a create that must run once per key, a checkout or a
 * refund (the IETF Idempotency-Key draft, as Stripe does it): the key is required and scoped to
 * the caller; while a request with it runs, the same key gets 409; once it has succeeded, the
 * same body gets the stored status and body again with `Idempotent-Replayed: true`, another body
 * 422, until the key expires. The stored response commits with the work, so a crash leaves
 * neither; a failed request stores nothing and may be retried with its key.
 */
export const idempotent = () => async (context: ServiceHookContext, next: NextFunction) => {
  if (!context.params.provider) return next()
  const key = keyOf(context)
  // Keys are the caller's own (the column's name is from when only buyers sent them, at checkout).
  const buyerId = principalOf(context).id
  const requestHash = createHash('sha256').update(canonical(context.data)).digest('hex')
  const trx = transactionOf(context)
  const [{ locked }] = await queryInTransaction<{ locked: boolean }>(trx, TRY_LOCK, [IDEMPOTENCY_LOCK, `${buyerId}:${key}`])
  if (!locked) throw new Conflict('A request with this Idempotency-Key is still in progress; retry it once that one has finished')
  const [stored] = await queryInTransaction<{ requestHash: string; status: number; body: unknown }>(trx, STORED, [buyerId, key])
  if (stored) {
    if (stored.requestHash !== requestHash) throw new Unprocessable('This Idempotency-Key was already used with another request body')
    context.result = stored.body
    context.http = { status: stored.status, headers: { [REPLAYED_HEADER]: 'true' } }
    return
  }
  await next()
  await queryInTransaction(trx, STORE, [
    buyerId,
    key,
    requestHash,
    context.http?.status ?? 201,
    JSON.stringify(context.result),
    durationMs(context.app.get('idempotencyKeyTtl')) / 1000
  ])
}

/**
 * For a create whose answer is completed after its transaction has committed (a checkout's
 * payment, once the provider has answered): the stored response becomes that answer, so a replay
 * gets what the first request got. A replay itself, or a request without a key, changes nothing.
 */
export const storeCompletedAnswer = async (context: ServiceHookContext) => {
  if (!context.params.provider || context.http?.headers?.[REPLAYED_HEADER]) return
  await queryPooled(context.app.get('postgresqlClient'), COMPLETE, [principalOf(context).id, keyOf(context), JSON.stringify(context.result)])
}
