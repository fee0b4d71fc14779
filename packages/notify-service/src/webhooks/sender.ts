import { createHmac } from 'node:crypto'
import type { HookContext, NextFunction } from '@feathersjs/feathers'
import {
  afterCommit,
  CoalescingRunner,
  inSpan,
  LEASE_CLAIM_SETTINGS,
  queryPooled,
  runInTransaction,
  type SideEffects,
  SpanKind,
  SpanStatusCode
} from '@marketmesh/events'
import { durationMs, type Knex, type Logger, type ServiceApplication, type ServiceConfiguration } from '@marketmesh/shared'
import { appendNotification } from '../log/append'
import { MAIL_EFFECT, type MailPayload } from '../mail/mail'
import { deliveriesScheduled } from './deliveries'
import { disableEndpoint } from './endpoints'
import type { SecretBox } from './secret-box'
import { sendWebhook, type AttemptOutcome } from './target'

/** The `webhooks` settings (configuration.ts declares them). */
export type WebhookSettings = ServiceConfiguration['webhooks']

interface ClaimedDelivery {
  id: string
  endpointId: string
  eventType: string
  body: string
  attempts: number
  url: string
  secret: string
  previousSecret: string | null
  previousSecretExpiresAt: Date | null
  traceparent: string | null
}

/** The stream message (and mail) that tells an endpoint's owner the service disabled it. */
export const WEBHOOK_ENDPOINT_DISABLED = 'webhook.endpoint.disabled'

// The oldest due deliveries, at most `perEndpoint` per endpoint, none of the endpoints this
// instance has its fill of in flight. Claiming moves runAfter past the attempt's lease: a claim
// whose sender died is due again then, with the same id. `$6` keeps the window to a page of the
// due ones, not every pending delivery of a backlog.
const CLAIM = `
  WITH due AS (
         SELECT id, "endpointId", "runAfter" FROM webhook_deliveries
          WHERE status = 'pending' AND "runAfter" <= now() AND NOT ("endpointId" = ANY($3::uuid[]))
          ORDER BY "runAfter" LIMIT $6),
       ranked AS (
         SELECT id, "runAfter", row_number() OVER (PARTITION BY "endpointId" ORDER BY "runAfter") AS n FROM due),
       claimable AS (
         SELECT d.id FROM webhook_deliveries d
          WHERE d.id IN (SELECT id FROM ranked WHERE n <= $4 ORDER BY "runAfter" LIMIT $1)
            AND d.status = 'pending'
            FOR UPDATE SKIP LOCKED)
  UPDATE webhook_deliveries d SET attempts = d.attempts + 1, "runAfter" = now() + make_interval(secs => $2::float / 1000)
    FROM webhook_endpoints e
   WHERE d.id IN (SELECT id FROM claimable) AND e.id = d."endpointId" AND e.status = $5
  RETURNING d.id, d."endpointId", d."eventType", d.body, d.attempts, e.url, e.secret, e."previousSecret", e."previousSecretExpiresAt", d.traceparent`

// Successes, recorded together in one statement: their attempts, the deliveries (those their
// claim still holds) and their endpoints no longer failing.
const RECORD_SUCCESSES = `
  WITH done AS (
         SELECT * FROM unnest($1::uuid[], $2::int[], $3::timestamptz[], $4::int[], $5::int[], $6::text[], $7::uuid[])
                AS t(id, attempts, at, "statusCode", "durationMs", snippet, "endpointId")),
       attempt AS (
         INSERT INTO webhook_attempts ("deliveryId", at, "statusCode", "durationMs", "responseSnippet")
         SELECT id, at, "statusCode", "durationMs", snippet FROM done),
       endpoint AS (
         UPDATE webhook_endpoints SET "failingSince" = NULL WHERE id IN (SELECT "endpointId" FROM done) AND "failingSince" IS NOT NULL)
  UPDATE webhook_deliveries d SET status = 'succeeded', "finishedAt" = now()
    FROM done WHERE d.id = done.id AND d.attempts = done.attempts AND d.status = 'pending'`

interface Success {
  row: ClaimedDelivery
  at: Date
  outcome: AttemptOutcome
}

// Claims given back by a stopping sender, unsent: due again at once, their attempt not counted.
const RELEASE = `
  UPDATE webhook_deliveries d SET attempts = d.attempts - 1, "runAfter" = now()
    FROM unnest($1::uuid[], $2::int[]) AS t(id, attempts)
   WHERE d.id = t.id AND d.attempts = t.attempts AND d.status = 'pending'`

/**
 * Sends the due webhook deliveries: claims them (`FOR UPDATE SKIP LOCKED`, so instances share
 * them), signs each per Standard Webhooks, and records each attempt. A 2xx within the timeout is
 * a success and the delivery is never sent again; anything else is retried after the next of
 * `retryDelaysMs`, then failed. 410 Gone disables the endpoint at once; an endpoint failing for
 * `disableAfter` with no success between is disabled, and its owner told by stream and mail.
 *
 * At most `concurrency` deliveries are in flight, `perEndpointConcurrency` of them to one
 * endpoint. Claiming runs ahead of sending by up to as many again (`ready`), so that a free slot
 * never waits for a claim's round trip; a claim's lease covers that wait and the send.
 *
 * Not the side-effect runner: that one waits for a claimed batch to finish before claiming more
 * and has one retry schedule for all kinds, so an endpoint taking its 15 s would hold up every
 * other. Here each finished delivery frees its slot at once.
 */
export class WebhookSender {
  /** Claimed and not yet sent, oldest first. */
  private readonly ready: ClaimedDelivery[] = []
  /** Per endpoint: in flight, and claimed (ready or in flight). */
  private readonly inFlight = new Map<string, number>()
  private readonly claimed = new Map<string, number>()
  private running = 0
  private readonly sending = new Set<Promise<void>>()
  private readonly runner = new CoalescingRunner(() =>
    this.claimAndSend().catch((error: Error) => this.options.logger.warn({ err: error.message }, 'claiming webhook deliveries failed; will retry'))
  )
  private succeeded: Success[] = []
  private readonly marker = new CoalescingRunner(() => this.recordSuccesses())
  private timer?: NodeJS.Timeout
  private readonly signingKeys = new Map<string, Buffer>()
  private readonly wake = () => this.runner.wake()

  constructor(private readonly options: { db: Knex; logger: Logger; effects: SideEffects; settings: WebhookSettings; secrets: SecretBox }) {}

  private get timeoutMs() {
    return durationMs(this.options.settings.timeout)
  }

  start() {
    deliveriesScheduled.on('due', this.wake)
    this.timer = setInterval(this.wake, durationMs(this.options.settings.pollInterval))
    this.marker.start()
    this.runner.start()
  }

  /** Gives back what it claimed and has not sent, and waits for the deliveries in flight (each ends within its timeout); what is not recorded runs again after its lease. */
  async stop() {
    deliveriesScheduled.off('due', this.wake)
    clearInterval(this.timer)
    await this.runner.stop()
    await this.release(this.ready.splice(0))
    await Promise.all(this.sending)
    await this.marker.stop()
    await this.recordSuccesses()
  }

  private async claimAndSend() {
    const { db, settings } = this.options
    for (;;) {
      this.startReady()
      const room = 2 * settings.concurrency - this.running - this.ready.length
      // A few slots' worth at a time, not one claim per finished delivery.
      if (room < Math.ceil(settings.concurrency / 4) || this.runner.isStopped) return
      const full = [...this.claimed].filter(([, count]) => count >= 2 * settings.perEndpointConcurrency).map(([id]) => id)
      // Waiting in `ready` behind its endpoint's slots takes at most one timeout, then the send another.
      const lease = 2 * this.timeoutMs + 5_000
      const rows = await queryPooled<ClaimedDelivery>(
        db,
        CLAIM,
        [room, lease, full, settings.perEndpointConcurrency, 'enabled', Math.max(room * 4, 200)],
        // A delivery claimed again is sent with the same webhook-id, which a lost answer already allows.
        LEASE_CLAIM_SETTINGS
      )
      for (const row of rows) {
        this.claimed.set(row.endpointId, (this.claimed.get(row.endpointId) ?? 0) + 1)
        this.ready.push(row)
      }
      if (rows.length < room) return this.startReady()
    }
  }

  /** Starts the ready deliveries that have a slot, in claim order, skipping endpoints at their share. */
  private startReady() {
    const { concurrency, perEndpointConcurrency } = this.options.settings
    for (let index = 0; index < this.ready.length && this.running < concurrency;) {
      const row = this.ready[index]
      if ((this.inFlight.get(row.endpointId) ?? 0) >= perEndpointConcurrency) index++
      else this.track(this.ready.splice(index, 1)[0])
    }
  }

  private track(row: ClaimedDelivery) {
    this.running++
    this.inFlight.set(row.endpointId, (this.inFlight.get(row.endpointId) ?? 0) + 1)
    const sending = this.deliver(row)
      .catch((error: Error) =>
        this.options.logger.warn({ deliveryId: row.id, err: error.message }, 'recording a webhook attempt failed; it is sent again after its lease')
      )
      .finally(() => {
        this.running--
        decrement(this.inFlight, row.endpointId)
        decrement(this.claimed, row.endpointId)
        this.sending.delete(sending)
        this.startReady()
        this.runner.wake()
      })
    this.sending.add(sending)
  }

  private async release(rows: ClaimedDelivery[]) {
    if (rows.length === 0) return
    try {
      await queryPooled(this.options.db, RELEASE, [rows.map(({ id }) => id), rows.map(({ attempts }) => attempts)])
    } catch (error) {
      this.options.logger.warn(
        { err: (error as Error).message, deliveries: rows.length },
        'giving back unsent webhook claims failed; they run after their lease'
      )
    }
  }

  /**
   * `v1,<signature>`, and during a rotation a second one with the previous secret, space-separated.
   * The signature is Standard Webhooks' (base64 HMAC-SHA256 of `id.timestamp.body` under the
   * secret's bytes), computed with node:crypto: the `standardwebhooks` package signs in JavaScript,
   * 16 µs a delivery against 4 here. The tests verify what is sent with that package.
   */
  private sign(row: ClaimedDelivery, at: Date) {
    const sealed = [row.secret]
    if (row.previousSecret && row.previousSecretExpiresAt && new Date(row.previousSecretExpiresAt) > at) sealed.push(row.previousSecret)
    const signed = `${row.id}.${Math.floor(at.getTime() / 1000)}.`
    return sealed.map((secret) => `v1,${createHmac('sha256', this.signingKeyOf(secret)).update(signed).update(row.body).digest('base64')}`).join(' ')
  }

  /** The key bytes of a sealed `whsec_` secret, opened once while it is among the last few hundred used. */
  private signingKeyOf(sealed: string) {
    let key = this.signingKeys.get(sealed)
    if (!key) {
      if (this.signingKeys.size >= 500) this.signingKeys.clear()
      key = Buffer.from(this.options.secrets.open(sealed).replace(/^whsec_/, ''), 'base64')
      this.signingKeys.set(sealed, key)
    }
    return key
  }

  /** The headers, or why it cannot be signed (its secret sealed under a key this instance lacks): a failed attempt, retried as any. */
  private signedHeaders(row: ClaimedDelivery, at: Date): { headers: Record<string, string> } | { error: string } {
    try {
      const signature = this.sign(row, at)
      return { headers: { 'webhook-id': row.id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': signature } }
    } catch (error) {
      return { error: (error as Error).message }
    }
  }

  /** Written under a span (the handler's that recorded what happened): sent in a child span of it. */
  private async deliver(row: ClaimedDelivery) {
    if (!row.traceparent) {
      await this.attempt(row)
      return
    }
    const attributes = {
      'marketmesh.event_type': row.eventType,
      'marketmesh.webhook_delivery_id': row.id,
      'marketmesh.webhook_endpoint_id': row.endpointId,
      'marketmesh.attempt': row.attempts
    }
    await inSpan(`webhook ${row.eventType}`, { kind: SpanKind.CLIENT, parent: row.traceparent, attributes }, async (span) => {
      const outcome = await this.attempt(row)
      if (outcome.statusCode !== undefined) span.setAttribute('http.response.status_code', outcome.statusCode)
      if (outcome.error) span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error })
    })
  }

  private async attempt(row: ClaimedDelivery) {
    const at = new Date()
    const signed = this.signedHeaders(row, at)
    const outcome: AttemptOutcome =
      'error' in signed
        ? { durationMs: 0, error: signed.error }
        : await sendWebhook(row.url, row.body, signed.headers, { policy: this.options.settings, timeoutMs: this.timeoutMs })
    const succeeded = outcome.statusCode !== undefined && outcome.statusCode >= 200 && outcome.statusCode < 300
    if (succeeded) {
      this.succeeded.push({ row, at, outcome })
      this.marker.wake()
    } else {
      await this.recordFailure(row, at, outcome)
    }
    return outcome
  }

  /**
   * Records the successes since the last time in one statement, not one commit each. One not
   * recorded (the process died first, the database failed) is sent again after its lease, with
   * the same webhook-id: a 2xx that was recorded is never sent again.
   */
  private async recordSuccesses() {
    const done = this.succeeded.splice(0)
    if (done.length === 0) return
    const column = <T>(pick: (success: Success) => T) => done.map(pick)
    try {
      await queryPooled(this.options.db, RECORD_SUCCESSES, [
        column(({ row }) => row.id),
        column(({ row }) => row.attempts),
        column(({ at }) => at),
        column(({ outcome }) => outcome.statusCode),
        column(({ outcome }) => outcome.durationMs),
        column(({ outcome }) => outcome.responseSnippet ?? null),
        column(({ row }) => row.endpointId)
      ])
    } catch (error) {
      this.options.logger.warn(
        { err: (error as Error).message, deliveries: done.length },
        'recording webhook successes failed; they are sent again after their lease'
      )
    }
  }

  private async recordFailure(row: ClaimedDelivery, at: Date, outcome: AttemptOutcome) {
    const { db, logger, settings } = this.options
    await runInTransaction(db, async (trx) => {
      // This claim no longer holds it (its lease ran out and another took it): that one records.
      const held = await trx('webhook_deliveries').forUpdate().first('id').where({ id: row.id, attempts: row.attempts, status: 'pending' })
      if (!held) return
      await trx('webhook_attempts').insert({
        deliveryId: row.id,
        at,
        statusCode: outcome.statusCode ?? null,
        durationMs: outcome.durationMs,
        responseSnippet: outcome.responseSnippet ?? null,
        error: outcome.error ?? null
      })
      const delay = settings.retryDelaysMs[row.attempts - 1]
      await trx('webhook_deliveries')
        .where({ id: row.id })
        .update(
          delay === undefined
            ? { status: 'failed', finishedAt: trx.fn.now() }
            : { runAfter: trx.raw('now() + make_interval(secs => ?::float / 1000)', [delay]) }
        )
      const [endpoint] = await trx('webhook_endpoints')
        .where({ id: row.endpointId })
        .update({ failingSince: trx.raw('COALESCE("failingSince", ?)', [at]) })
        .returning(['failingSince', 'status'])
      if (endpoint?.status !== 'enabled') return
      const failingMs = at.getTime() - new Date(endpoint.failingSince).getTime()
      if (outcome.statusCode === 410) await this.disable(trx, row.endpointId, 'the endpoint answered 410 Gone')
      else if (failingMs >= durationMs(settings.disableAfter))
        await this.disable(trx, row.endpointId, `its deliveries have failed since ${new Date(endpoint.failingSince).toISOString()}`)
      // A retry due before the next poll is woken for (the tests' short schedules, the immediate first retry).
      else if (delay !== undefined && delay < durationMs(settings.pollInterval)) afterCommit(trx, () => setTimeout(this.wake, delay + 1).unref())
    })
    logger.info(
      { deliveryId: row.id, endpointId: row.endpointId, attempt: row.attempts, statusCode: outcome.statusCode, err: outcome.error },
      'webhook delivery failed'
    )
  }

  /** Disables the endpoint and tells its owner: a stream message and a mail, each once. */
  private async disable(trx: Knex.Transaction, endpointId: string, reason: string) {
    const endpoint = await disableEndpoint(trx, endpointId, reason)
    const shown = { endpointId, url: endpoint.url, reason }
    await appendNotification(trx, {
      type: WEBHOOK_ENDPOINT_DISABLED,
      data: shown,
      audience: endpoint.sellerId ? { sellerId: endpoint.sellerId } : { userId: endpoint.ownerId }
    })
    await this.options.effects.schedule(trx, MAIL_EFFECT, `webhook-endpoint-disabled:${endpointId}:${new Date(endpoint.updatedAt).toISOString()}`, {
      template: 'webhook-endpoint-disabled',
      to: endpoint.ownerId,
      context: shown
    } satisfies MailPayload)
    this.options.logger.warn({ endpointId, reason }, 'webhook endpoint disabled')
  }
}

const decrement = (counts: Map<string, number>, key: string) => {
  const left = counts.get(key)! - 1
  if (left === 0) counts.delete(key)
  else counts.set(key, left)
}

/** Runs a sender on every instance from the app's setup to its teardown. */
export const webhookSender = (app: ServiceApplication, secrets: SecretBox) => {
  const sender = new WebhookSender({
    db: app.get('postgresqlClient'),
    logger: app.get('logger'),
    effects: app.get('events').effects,
    settings: app.get('webhooks'),
    secrets
  })
  app.hooks({
    setup: [
      async (_context: HookContext, next: NextFunction) => {
        await next()
        sender.start()
      }
    ],
    teardown: [
      async (_context: HookContext, next: NextFunction) => {
        await sender.stop()
        await next()
      }
    ]
  })
}
