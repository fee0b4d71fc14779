import { AsyncResource } from 'node:async_hooks'
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Knex } from 'knex'
import type { Logger } from 'pino'
import { Gauge, type Registry } from 'prom-client'
import { lockAggregates } from './arrival-order'
import { afterCommit, LEASE_CLAIM_SETTINGS, queryPooled, runInTransaction } from './knex-internals'
import { CoalescingRunner } from './coalescing-runner'
import type { EventMetrics } from './metrics'
import { purgeInBatches, vacuumWhenDead } from './purge'
import { currentTraceparent, inSpan, subjectAttributes } from './tracing'

/** One piece of work outside the database, as its performer gets it. */
export interface SideEffect<P = unknown> {
  /** Stable across attempts and instances: pass it on as the idempotency key (or Message-ID). */
  id: string
  kind: string
  /** What makes it unique within its kind, e.g. `order-paid:<orderId>`. */
  key: string
  payload: P
  /** 1 on the first try. */
  attempt: number
}

/** One of the effects `scheduleAll` writes: as `schedule` takes them, carried out `delayMs` after commit. */
export interface ScheduledEffect {
  kind: string
  key: string
  payload: unknown
  delayMs?: number
}

export type SideEffectPerformer<P = unknown> = (effect: SideEffect<P>) => Promise<void>

export interface PerformerOptions<P = unknown> {
  /** Called once when the last attempt has failed (e.g. to cancel the order a payment was for). */
  onGiveUp?: (effect: SideEffect<P>, error: Error) => Promise<void>
  /**
   * The aggregates (`aggregateKey`s) its conclusion locks, declared as a consumer's handlers declare
   * theirs: a group of conclusions takes them all first (`conclude`).
   */
  locks?: (effect: SideEffect<P>) => string[]
}

export interface SideEffectsOptions {
  db: Knex
  logger: Logger
  metrics: EventMetrics
  /** Where `side_effects_pending{kind}` is read at each scrape. */
  registry: Registry
  /** Delay before each retry; after the last one the effect is marked failed. */
  retryDelaysMs: number[]
  /** A claimed effect not finished within this is run again (its runner may have died). */
  leaseMs: number
  pollIntervalMs: number
  concurrency: number
  retentionHours: number
}

interface ClaimedRow {
  id: string
  kind: string
  key: string
  payload: unknown
  attempts: number
  traceparent: string | null
}

// Every minute: the purge also vacuums the table, whose dead rows make every claim dearer.
const PURGE_INTERVAL_MS = 60_000

// Claiming pushes run_after past the lease: a claim whose runner died is due again then.
const CLAIM = `
  UPDATE side_effects SET attempts = attempts + 1, run_after = now() + make_interval(secs => $3::float / 1000)
   WHERE id IN (
         SELECT id FROM side_effects
          WHERE status = 'pending' AND run_after <= now() AND kind = ANY($1::text[])
          ORDER BY run_after
          LIMIT $2
            FOR UPDATE SKIP LOCKED)
  RETURNING id, kind, key, payload, attempts, traceparent`

/** Marks the effects `ids` (a placeholder: `$1` on a pooled connection, `?` in knex) done. */
const markDone = (ids: string) => `UPDATE side_effects SET status = 'done', finished_at = now(), last_error = NULL WHERE id = ANY(${ids}::uuid[])`

const MARK_DONE = markDone('$1')

// Written on every step that schedules: one statement, not built per call. Scheduling the same kind and key again keeps the first.
const SCHEDULE = `
  INSERT INTO side_effects (id, kind, key, payload, traceparent, run_after)
  VALUES (?, ?, ?, ?, ?, now() + make_interval(secs => ?::float / 1000))
  ON CONFLICT (kind, key) DO NOTHING
  RETURNING id`

// Several, of any kinds and delays, in one statement (scheduleAll).
const SCHEDULE_ALL = `
  INSERT INTO side_effects (id, kind, key, payload, traceparent, run_after)
  SELECT id, kind, key, payload, ?, now() + make_interval(secs => delay_ms / 1000)
    FROM unnest(?::uuid[], ?::text[], ?::text[], ?::jsonb[], ?::float[]) AS scheduled (id, kind, key, payload, delay_ms)
  ON CONFLICT (kind, key) DO NOTHING`

const STOP_GRACE_MS = 5_000
// A mark the database failed is made again this much later (see markDone).
const MARK_RETRY_MS = 250

/** A performer's last step, waiting for the transaction it is concluded in. */
interface Conclusion {
  effect: SideEffect
  work: (trx: Knex.Transaction) => Promise<unknown>
  resolve: () => void
  reject: (error: unknown) => void
}

const effectAttributes = ({ kind, key, attempt, payload }: SideEffect) => ({
  ...subjectAttributes(payload),
  'marketmesh.side_effect': kind,
  'marketmesh.side_effect_key': key,
  'marketmesh.attempt': attempt
})

/**
 * Side effects that must happen once although their cause may be handled more than once (a
 * redelivered event, a batch retried because a batch-mate failed). The handler only writes a row
 * in its own transaction; after commit a runner claims the row (one instance of the service,
 * `SKIP LOCKED`), calls the kind's performer with the row's stable id, and marks it done, or
 * retries it later. Scheduling the same kind and key twice keeps the first. A runner that dies
 * mid-call leaves the row to be claimed again after the lease, with the same id: performers
 * must pass that id on as an idempotency key. Scheduled under a span (a handler's), it is carried
 * out in a child span of it.
 */
export class SideEffects {
  private readonly performers = new Map<string, { perform: SideEffectPerformer; options: PerformerOptions }>()
  private readonly runner = new CoalescingRunner(() =>
    this.runDue().catch((error) => this.options.logger.warn({ err: (error as Error).message }, 'side effects run failed; will retry'))
  )
  private readonly marker = new CoalescingRunner(() => this.markDone())
  private finished: ClaimedRow[] = []
  private concluding: Conclusion[] = []
  private concluderRunning = false
  /** Effects marked done with their conclusion: the runner does not mark them again. */
  private readonly concluded = new Set<string>()
  private timers: NodeJS.Timeout[] = []

  constructor(private readonly options: SideEffectsOptions) {
    const { db } = options
    new Gauge({
      name: 'side_effects_pending',
      help: 'Side effects not yet carried out (due, waiting for a retry or a timer), by kind',
      labelNames: ['kind'],
      registers: [options.registry],
      async collect() {
        let rows: Array<{ kind: string; count: number }>
        try {
          rows = await db('side_effects').where({ status: 'pending' }).groupBy('kind').select('kind', db.raw('count(*)::int AS count'))
        } catch {
          // An unreachable database shows in /ready; the scrape still answers, with the last counts.
          return
        }
        this.reset()
        for (const { kind, count } of rows) this.set({ kind }, count)
      }
    })
  }

  /** Registers how effects of `kind` are carried out (before the bus starts). */
  perform<P>(kind: string, performer: SideEffectPerformer<P>, options: PerformerOptions<P> = {}) {
    this.performers.set(kind, { perform: performer as SideEffectPerformer, options: options as PerformerOptions })
    return this
  }

  get hasPerformers() {
    return this.performers.size > 0
  }

  /**
   * Writes the effect in `trx`; it is carried out once `trx` commits, or `delayMs` after (a
   * durable timer: it survives restarts and fires on one instance). Returns its id.
   */
  async schedule(trx: Knex.Transaction, kind: string, key: string, payload: unknown, { delayMs = 0 } = {}): Promise<string> {
    const { rows } = await trx.raw(SCHEDULE, [randomUUID(), kind, key, JSON.stringify(payload), currentTraceparent(), delayMs])
    afterCommit(trx, () => this.wake())
    if (rows.length > 0) return rows[0].id
    const existing = await trx('side_effects').where({ kind, key }).first('id')
    return existing.id
  }

  /** Like `schedule` for several effects (an order's two mails, a checkout's authorization and timers), written with one statement. */
  async scheduleAll(trx: Knex.Transaction, effects: ScheduledEffect[]) {
    if (effects.length > 0) await this.scheduleAlongside(trx, effects)
  }

  /**
   * Like `scheduleAll`, for a statement of the caller's that writes the effects alongside its own
   * work, one round trip less on a hot path: the INSERT to put in it as a data-modifying CTE
   * (`trx.with('scheduled', write)`). They are carried out once `trx` commits, if that statement ran in it.
   */
  scheduleAlongside(trx: Knex.Transaction, effects: ScheduledEffect[]): Knex.Raw {
    afterCommit(trx, () => this.wake())
    return trx.raw(SCHEDULE_ALL, [
      currentTraceparent(),
      effects.map(() => randomUUID()),
      effects.map(({ kind }) => kind),
      effects.map(({ key }) => key),
      effects.map(({ payload }) => JSON.stringify(payload)),
      effects.map(({ delayMs = 0 }) => delayMs)
    ])
  }

  /**
   * The statement that drops the effects of `kinds` with `key` not yet begun (timers whose moment
   * has not come, say, made moot by a step), for the caller to run, or to put in a statement of its
   * own (`trx.with(...)`). One begun is left to finish: its performer decides by the state it finds.
   */
  unschedule(trx: Knex.Transaction, kinds: string[], key: string) {
    return trx('side_effects').whereIn('kind', kinds).andWhere({ key, status: 'pending', attempts: 0 }).delete()
  }

  /**
   * A performer's last step, for one that ends in a transaction of its own (writing what the effect
   * did): `work` runs in a transaction with the effect's done mark (one commit, not two) and with
   * the conclusions of the other effects that arrive meanwhile (group commit). Under no load it
   * starts at once; under load what arrives while a transaction is being committed goes in the
   * next one, in the order of the effects' keys, so two such transactions lock what they share in
   * one order; a group first takes the locks its performers declare (`locks`), the locks a
   * consumer's batch takes for the same aggregates before its handlers run. When one work fails,
   * the transaction rolls back and each is concluded again alone: `work` may run more than once,
   * and only its database writes count. Resolves once committed.
   */
  conclude(effect: SideEffect, work: (trx: Knex.Transaction) => Promise<unknown>): Promise<void> {
    const concluded = new Promise<void>((resolve, reject) =>
      // Run in the performer's context: the events it writes carry its cause and its span.
      this.concluding.push({ effect, work: AsyncResource.bind(work), resolve, reject })
    )
    if (!this.concluderRunning) void this.concludeArrived()
    return concluded
  }

  private async concludeArrived() {
    this.concluderRunning = true
    while (this.concluding.length > 0) {
      const group = this.concluding.splice(0).sort((a, b) => (a.effect.key < b.effect.key ? -1 : a.effect.key > b.effect.key ? 1 : 0))
      if (
        group.length > 1 &&
        (await this.concludeTogether(group).then(
          () => true,
          () => false
        ))
      )
        continue
      for (const conclusion of group) await this.concludeTogether([conclusion]).catch(conclusion.reject)
    }
    this.concluderRunning = false
  }

  private async concludeTogether(group: Conclusion[]) {
    const ids = group.map(({ effect }) => effect.id)
    // A group locking several aggregates takes their declared locks first, as a consumer's batch
    // does: it then waits for such a batch holding nothing, where locking row by row in its own
    // order would deadlock with it (PostgreSQL breaks that after deadlock_timeout, a second late).
    const locks = group.length > 1 ? group.flatMap(({ effect }) => this.performers.get(effect.kind)?.options.locks?.(effect) ?? []) : []
    await runInTransaction(this.options.db, async (trx) => {
      await lockAggregates(trx, locks)
      for (const { work } of group) await work(trx)
      await trx.raw(markDone('?'), [ids])
    })
    for (const { effect, resolve } of group) {
      this.concluded.add(effect.id)
      resolve()
    }
  }

  start() {
    if (!this.hasPerformers) return
    this.timers.push(setInterval(() => this.wake(), this.options.pollIntervalMs))
    this.timers.push(setInterval(() => void this.purge(), PURGE_INTERVAL_MS))
    this.marker.start()
    this.runner.start()
  }

  /** Waits for the effects in progress, but no longer than their lease: past it they run again elsewhere anyway. */
  async stop() {
    const running = this.runner.stop()
    this.timers.forEach(clearInterval)
    this.timers = []
    let timer: NodeJS.Timeout | undefined
    await Promise.race([running, new Promise((resolve) => (timer = setTimeout(resolve, Math.min(this.options.leaseMs, STOP_GRACE_MS))))])
    clearTimeout(timer)
    // What finished by now is marked; what finishes later runs again after its lease.
    await this.marker.stop()
    await this.markDone()
  }

  wake() {
    this.runner.wake()
  }

  private async runDue() {
    const { db, leaseMs, concurrency } = this.options
    for (;;) {
      const rows = await queryPooled<ClaimedRow>(db, CLAIM, [[...this.performers.keys()], concurrency, leaseMs], LEASE_CLAIM_SETTINGS)
      if (rows.length === 0 || this.runner.isStopped) return
      await Promise.all(rows.map((row) => this.carryOut(row)))
      // Marked before more are claimed: a crash can then repeat at most one batch's effects (a
      // mail the SMTP server took but the database never heard of), not every one since the last mark.
      await this.marker.idle()
      // A short claim took every due one: what commits later wakes the runner again.
      if (rows.length < concurrency) return
    }
  }

  /**
   * Marks the effects carried out since the last time done, in one statement: effects finishing
   * while one is being marked are marked together next, not one commit each. When the database
   * fails meanwhile (a restart), they are kept and marked again MARK_RETRY_MS later, until it
   * answers: the runner claims nothing more until then, and an effect carried out runs again only
   * when its mark is never made (a stop, or a database away past the lease: as if its runner had died).
   */
  private async markDone() {
    const { db, logger, metrics } = this.options
    const rows = this.finished.splice(0)
    if (rows.length === 0) return
    try {
      await queryPooled(db, MARK_DONE, [rows.map((row) => row.id)])
      for (const { kind } of rows) metrics.sideEffectsDone.inc({ kind })
    } catch (error) {
      this.finished.unshift(...rows)
      logger.warn({ err: (error as Error).message, effects: rows.length }, 'marking side effects done failed; marking them again')
      await sleep(MARK_RETRY_MS)
      this.marker.wake()
    }
  }

  private async carryOut(row: ClaimedRow) {
    const { db, logger, metrics, retryDelaysMs } = this.options
    const effect: SideEffect = { id: row.id, kind: row.kind, key: row.key, payload: row.payload, attempt: row.attempts }
    const { perform, options } = this.performers.get(row.kind)!
    try {
      if (row.traceparent)
        await inSpan(`effect ${row.kind}`, { parent: row.traceparent, attributes: effectAttributes(effect) }, () => perform(effect))
      else await perform(effect)
      if (this.concluded.delete(row.id)) {
        metrics.sideEffectsDone.inc({ kind: row.kind })
      } else {
        this.finished.push(row)
        this.marker.wake()
      }
    } catch (error) {
      this.concluded.delete(row.id)
      const message = (error as Error).message ?? String(error)
      const delay = retryDelaysMs[row.attempts - 1]
      if (delay === undefined) {
        await options
          .onGiveUp?.(effect, error as Error)
          .catch((giveUpError: Error) =>
            logger.error({ effectId: row.id, kind: row.kind, err: giveUpError.message }, 'giving up on a side effect failed')
          )
        await db('side_effects').where({ id: row.id }).update({ status: 'failed', finished_at: db.fn.now(), last_error: message })
        metrics.sideEffectsFailed.inc({ kind: row.kind })
        logger.error({ effectId: row.id, kind: row.kind, key: row.key, attempts: row.attempts, err: message }, 'side effect failed for good')
      } else {
        await db('side_effects')
          .where({ id: row.id })
          .update({ run_after: db.raw('now() + make_interval(secs => ?::float / 1000)', [delay]), last_error: message })
        metrics.sideEffectsRetried.inc({ kind: row.kind })
        logger.warn({ effectId: row.id, kind: row.kind, attempt: row.attempts, retryInMs: delay, err: message }, 'side effect failed; will retry')
      }
    }
  }

  /** Done effects past the retention (failed ones stay until an operator acts); then the table vacuumed, once it holds VACUUM_AFTER_DEAD_ROWS dead rows. */
  async purge() {
    const { db, retentionHours, logger } = this.options
    try {
      const purged = await purgeInBatches(db, 'side_effects', "status = 'done' AND finished_at < now() - make_interval(secs => ?)", [
        retentionHours * 3600
      ])
      if (purged > 0) logger.info({ purged }, 'purged done side effects')
      await vacuumWhenDead(db, 'side_effects')
    } catch (error) {
      logger.warn({ err: (error as Error).message }, 'side effects purge failed')
    }
  }
}
