import { randomUUID } from 'node:crypto'
import { Conflict, NotFound } from '@feathersjs/errors'
import { placeTombstone, tombstoneOf } from '@marketmesh/events'
import { durationMs, invalidField, type Knex, type ServiceApplication } from '@marketmesh/shared'
import { type PrintJobMessage, type Receipt } from '@marketmesh/receipts'
import { appendNotification, appendNotifications, lockLog, type AlongsideWrite, type NewNotification } from '../log/append'
import { PRINT_JOB, PRINT_JOB_UPDATED } from './message-types'

/**
 * A print job's life. A job is one receipt for the printers of one shop: the original of a paid
 * order (one per order), or a copy its seller asks for.
 *
 *   queue (order.paid), reprint (seller)
 *        │
 *        ▼
 *     queued ──claim (device)──▶ printing ──confirm printed (device)──▶ printed
 *        │                          │    └──────fail (device)─────────▶ failed
 *    withdraw (order cancelled)  expire claim (timer)                     ▲
 *        ▼                          ▼                                     │
 *    cancelled                 unconfirmed ── late, by the same device ───┘
 *
 * `printJobSteps` says who takes each step from which states; each step is a function here, and
 * every change locks the job's row, then appends its `print.job.updated` to the log. The adapters
 * keep their I/O and call these steps:
 * - `order.paid` queues the original, `order.cancelled` withdraws the order's queued jobs:
 *   events/order-receipts.ts;
 * - a seller's reprint (`POST /print-jobs`) and an SSE device's claim, printed or failed
 *   (`PATCH /print-jobs/:id`, what `marketmesh printer` sends): services/print-jobs/;
 * - a Star printer: cloudprnt/route.ts (its poll claims the shop's next job, its DELETE confirms
 *   or fails it);
 * - the timers, durable side effects: printing/confirm-timeout.ts (a claim not confirmed in time
 *   expires) and printing/withdraw-skipped.ts (a withdrawal a claim in progress held up);
 * - a device's stream on open gets the shop's queued jobs: stream/queued-print-jobs.ts.
 */

/** `cancelled`: withdrawn while still queued, its order cancelled before a device took it. */
export const printJobStatuses = ['queued', 'printing', 'printed', 'failed', 'unconfirmed', 'cancelled'] as const
export type PrintJobStatus = (typeof printJobStatuses)[number]

export const printTransports = ['sse', 'cloudprnt'] as const
export type PrintTransport = (typeof printTransports)[number]

/** Who takes a step: a device of the job's shop, its seller, or this service (an event handler or a timer). */
export type PrintJobActor = 'device' | 'seller' | 'system'

interface PrintJobStep {
  by: PrintJobActor
  /** The states the step is taken from; none: it makes a new job. */
  from: readonly PrintJobStatus[]
  to: PrintJobStatus
}

/**
 * Every step of a job's life. A device's steps after the claim are the claiming device's alone
 * (another device's is a 409); a device repeating the step it took (a retried request) gets the
 * job unchanged. `printed` and `failed` are also taken once the claim went `unconfirmed`: the
 * device's word is the truth about the paper.
 */
export const printJobSteps = {
  queue: { by: 'system', from: [], to: 'queued' },
  reprint: { by: 'seller', from: [], to: 'queued' },
  claim: { by: 'device', from: ['queued'], to: 'printing' },
  confirmPrinted: { by: 'device', from: ['printing', 'unconfirmed'], to: 'printed' },
  fail: { by: 'device', from: ['printing', 'unconfirmed'], to: 'failed' },
  expireClaim: { by: 'system', from: ['printing'], to: 'unconfirmed' },
  withdraw: { by: 'system', from: ['queued'], to: 'cancelled' }
} as const satisfies Record<string, PrintJobStep>

const allows = (step: PrintJobStep, status: PrintJobStatus) => step.from.includes(status)

export interface PrintJob {
  id: string
  sellerId: string
  orderId: string
  /** A reprint, marked "COPY" on paper. */
  copy: boolean
  status: PrintJobStatus
  /** The device that claimed it, and how it is connected. */
  deviceId: string | null
  transport: PrintTransport | null
  /** The device's error, for a failed job. */
  error: string | null
  receipt: Receipt
  createdAt: string
  claimedAt: string | null
  finishedAt: string | null
}

/** A job and its `print.job` notification in the log. */
export interface PrintJobRow extends PrintJob {
  notificationId: string
}

/** `print.job.updated`: a job's new state, for its seller. */
export type PrintJobUpdateMessage = Pick<
  PrintJob,
  'orderId' | 'copy' | 'status' | 'deviceId' | 'transport' | 'error' | 'claimedAt' | 'finishedAt'
> & {
  jobId: string
}

/** A device of a shop, as it takes its steps. */
export interface Device {
  id: string
  sellerId: string
}

/** A device's step as it asks for it: the status it takes the job to, and for `failed` its error. */
export interface DeviceStep {
  status: 'printing' | 'printed' | 'failed'
  error?: string
}

export { PRINT_JOB, PRINT_JOB_UPDATED } from './message-types'
/** The durable timer of a claim: a side effect due `printing.confirmTimeout` after it. */
export const CONFIRM_TIMEOUT = 'print-confirm-timeout'
/** The side effect that withdraws a cancelled order's jobs a claim had locked at the time (see withdrawOrderJobs). */
export const WITHDRAW_SKIPPED_JOBS = 'print-withdraw-skipped'

/** `print.job`: what a device prints (ARCHITECTURE.md's contract). */
export const printJobMessage = ({ id, orderId, copy, createdAt, receipt }: PrintJob): PrintJobMessage => ({
  jobId: id,
  orderId,
  copy,
  createdAt,
  receipt
})

/** `print.job.updated`: a job's state, for its seller. */
export const printJobUpdate = (job: PrintJob): PrintJobUpdateMessage => {
  const { orderId, copy, status, deviceId, transport, error, claimedAt, finishedAt } = job
  return { jobId: job.id, orderId, copy, status, deviceId, transport, error, claimedAt, finishedAt }
}

/** The job as the API shows it (node-postgres reads a timestamp as a Date). */
export const jobFromRow = (row: Record<string, unknown>): PrintJobRow => {
  const time = (value: unknown) => (value instanceof Date ? value.toISOString() : ((value as string | null) ?? null))
  return { ...(row as unknown as PrintJobRow), createdAt: time(row.createdAt)!, claimedAt: time(row.claimedAt), finishedAt: time(row.finishedAt) }
}

// Read under the log's lock: the order's cancellation, if handled (its tombstone), and whether it has its original.
const ORDER_PRINT_STATE = `
  SELECT (SELECT reason FROM tombstones WHERE aggregate = 'order' AND aggregate_id = ?) AS "endedBy",
         EXISTS (SELECT FROM print_jobs WHERE "orderId" = ? AND NOT copy) AS "hasOriginal"`

// Alongside its `print.job`, the last notification appended.
const INSERT_JOB = `
  INSERT INTO print_jobs (id, "sellerId", "orderId", copy, status, receipt, "createdAt", "notificationId")
  SELECT ?::uuid, ?::uuid, ?::uuid, ?::boolean, ?::text, ?::jsonb, ?::timestamptz, max(id) FROM appended`

/**
 * What goes into a job's statement besides the job: notifications of the same cause, writes of
 * it, and writes made only when the order was not ended (cancelled) first, whether or not a job is made.
 */
export interface QueuedAlongside {
  notifications: NewNotification[]
  writes: AlongsideWrite[]
  unlessEnded?: () => AlongsideWrite[]
}

/** What queueing did: the job made, if any (none when the order had its original or was cancelled first). */
export interface Queued {
  job?: PrintJobRow
}

/**
 * Queues a job in `trx` and puts its `print.job` in the log for the shop's devices. An original
 * is made once per order: the check runs under the log's lock, which every transaction that makes
 * a job holds to commit, so two deliveries of one `order.paid` (or two of its events) cannot both
 * pass it; the unique index stands behind. No job when the order had its original or was
 * cancelled. `alongside`: in the job's statement (or their own when no job is made).
 */
const queueJob = async (
  trx: Knex.Transaction,
  { sellerId, orderId, copy, receipt, eventId }: { sellerId: string; orderId: string; copy: boolean; receipt: Receipt; eventId?: string },
  { notifications, writes, unlessEnded }: QueuedAlongside = { notifications: [], writes: [] }
): Promise<Queued> => {
  await lockLog(trx)
  // A cancellation handled first (events of one order arrive in any order) leaves nothing to print.
  const {
    rows: [{ endedBy, hasOriginal }]
  } = await trx.raw<{ rows: Array<{ endedBy: string | null; hasOriginal: boolean }> }>(ORDER_PRINT_STATE, [orderId, orderId])
  if (endedBy) {
    await appendNotifications(trx, notifications, writes)
    return {}
  }
  const writesOpen = [...writes, ...(unlessEnded?.() ?? [])]
  if (!copy && hasOriginal) {
    await appendNotifications(trx, notifications, writesOpen)
    return {}
  }
  const job: PrintJob = {
    id: randomUUID(),
    sellerId,
    orderId,
    copy,
    status: (copy ? printJobSteps.reprint : printJobSteps.queue).to,
    deviceId: null,
    transport: null,
    error: null,
    receipt,
    createdAt: new Date().toISOString(),
    claimedAt: null,
    finishedAt: null
  }
  const ids = await appendNotifications(
    trx,
    [...notifications, { type: PRINT_JOB, data: printJobMessage(job), audience: { sellerId, devices: true }, eventId }],
    [...writesOpen, { sql: INSERT_JOB, bindings: [job.id, sellerId, orderId, copy, job.status, JSON.stringify(receipt), job.createdAt] }]
  )
  const notificationId = ids[ids.length - 1]
  return { job: { ...job, notificationId: String(notificationId) } }
}

/**
 * queue: a paid order's original receipt (see queueJob), made once; none when it had one or was
 * cancelled. `alongside` is appended to the log whatever happens.
 */
export const queueOriginal = (
  trx: Knex.Transaction,
  order: { sellerId: string; orderId: string; receipt: Receipt; eventId: string },
  alongside?: QueuedAlongside
) => queueJob(trx, { ...order, copy: false }, alongside)

/** reprint: a copy of the original receipt of one of the seller's orders. */
export const reprint = async (trx: Knex.Transaction, sellerId: string, orderId: string) => {
  const original = await trx('print_jobs').first('receipt').where({ orderId, sellerId, copy: false })
  if (!original) throw new NotFound(`No paid order '${orderId}' of yours to reprint`)
  // A copy is always made: only originals are one per order.
  const { job } = await queueJob(trx, { sellerId, orderId, copy: true, receipt: original.receipt })
  if (!job) throw new Conflict(`Order '${orderId}' is cancelled: its receipt is not printed again`)
  return job
}

/** Tells the seller's streams about a job's new state (after its row was changed and locked). */
const announceJobState = (trx: Knex.Transaction, job: PrintJob) =>
  appendNotification(trx, { type: PRINT_JOB_UPDATED, data: printJobUpdate(job), audience: { sellerId: job.sellerId } })

// Every change locks the job's row first and appends to the log after: a transaction holding the
// log's lock (an event handler queueing a job) never waits for a job's row, so the two cannot wait
// for each other in opposite order.
const lockJob = async (trx: Knex.Transaction, id: string, sellerId: string) => {
  const row = await trx('print_jobs').forUpdate().first().where({ id, sellerId })
  return row ? jobFromRow(row) : undefined
}

const update = async (trx: Knex.Transaction, job: PrintJobRow, changes: Record<string, unknown>) => {
  const [row] = await trx('print_jobs').where({ id: job.id }).update(changes).returning('*')
  const changed = jobFromRow(row)
  await announceJobState(trx, changed)
  return changed
}

const claim = async (app: ServiceApplication, trx: Knex.Transaction, job: PrintJobRow, device: Device, transport: PrintTransport) => {
  const claimed = await update(trx, job, { status: printJobSteps.claim.to, deviceId: device.id, transport, claimedAt: trx.fn.now() })
  await app
    .get('events')
    .effects.schedule(trx, CONFIRM_TIMEOUT, job.id, { jobId: job.id }, { delayMs: durationMs(app.get('printing').confirmTimeout) })
  return claimed
}

const notFound = (id: string) => new NotFound(`No record found for id '${id}'`)

/** The device's step that takes a job to `status`. */
const deviceStepTo = (status: DeviceStep['status']) => Object.values(printJobSteps).find((step) => step.by === 'device' && step.to === status)!

/**
 * claim, confirm printed, fail: a device's step on a job of its shop (see printJobSteps). The
 * first device to claim a queued job wins; repeating the step one has taken answers the job
 * unchanged; any other step is a 409 naming the job's status.
 */
export const takeDeviceStep = async (
  app: ServiceApplication,
  trx: Knex.Transaction,
  id: string,
  change: DeviceStep,
  device: Device,
  transport: PrintTransport
) => {
  if (change.error !== undefined && change.status !== 'failed') throw invalidField('error', 'is only for status failed')
  const job = await lockJob(trx, id, device.sellerId)
  if (!job) throw notFound(id)
  const mine = job.deviceId === device.id
  if (mine && job.status === change.status) return job
  const holder = job.deviceId && !mine ? ' on another device' : ''
  const step = deviceStepTo(change.status)
  if (step === printJobSteps.claim) {
    if (!allows(step, job.status)) throw new Conflict(`Print job ${id} is ${job.status}${holder}: it cannot be claimed`)
    // Still queued after its order's cancellation, which skipped it while another claim held it.
    if (await tombstoneOf(trx, 'order', job.orderId)) throw new Conflict(`Print job ${id} is being withdrawn: its order was cancelled`)
    return claim(app, trx, job, device, transport)
  }
  if (!mine || !allows(step, job.status)) {
    const why = job.status === 'queued' ? ': claim it first (status printing)' : `${holder}: it cannot become ${change.status}`
    throw new Conflict(`Print job ${id} is ${job.status}${why}`)
  }
  // Printed or failed, the claim's timer is moot: dropped, not left to fire and find nothing to do.
  await app.get('events').effects.unschedule(trx, [CONFIRM_TIMEOUT], job.id)
  return update(trx, job, { status: step.to, error: step === printJobSteps.fail ? (change.error ?? null) : null, finishedAt: trx.fn.now() })
}

/** claim, for CloudPRNT's poll: the oldest queued job of the device's shop, claimed for it, or none. */
export const claimNextJob = async (app: ServiceApplication, trx: Knex.Transaction, device: Device, transport: PrintTransport) => {
  const row = await trx('print_jobs')
    .forUpdate()
    .skipLocked()
    .first()
    .where({ sellerId: device.sellerId })
    .whereIn('status', [...printJobSteps.claim.from])
    // Not one its order's cancellation is withdrawing (see withdrawOrderJobs).
    .whereNotExists(trx('tombstones').where({ aggregate: 'order' }).whereRaw('aggregate_id = print_jobs."orderId"::text'))
    .orderBy('createdAt')
  return row ? claim(app, trx, jobFromRow(row), device, transport) : undefined
}

/** expire claim, a claim's timer: still `printing`, it becomes `unconfirmed` and stays so (the seller may reprint). */
export const expireClaim = async (trx: Knex.Transaction, id: string) => {
  const row = await trx('print_jobs').forUpdate().first().where({ id })
  if (!row || !allows(printJobSteps.expireClaim, row.status)) return undefined
  return update(trx, jobFromRow(row), { status: printJobSteps.expireClaim.to })
}

const withdrawableJobsOf = (trx: Knex.Transaction, orderId: string) =>
  trx('print_jobs')
    .select('id')
    .where({ orderId })
    .whereIn('status', [...printJobSteps.withdraw.from])

/** The jobs `ids` selects are withdrawn, each announced to its seller; returns how many. */
const withdrawJobs = async (trx: Knex.Transaction, ids: Knex.QueryBuilder) => {
  const rows = await trx('print_jobs').whereIn('id', ids).update({ status: printJobSteps.withdraw.to, finishedAt: trx.fn.now() }).returning('*')
  for (const row of rows) await announceJobState(trx, jobFromRow(row))
  return rows.length
}

/**
 * withdraw, its order cancelled: the order's queued jobs become `cancelled` (a device that asks
 * for one gets a 409), and a job made later is not made. The tombstone is placed under the log's
 * lock, the lock `queueJob` checks it under, so either the job exists here or it will never be
 * made. A job a device is claiming right now (its row locked) is skipped, not waited for: waiting
 * for its row while holding the log's lock could deadlock with the claim's announcement. Returns
 * how many were skipped: if that claim is then rolled back, the job is still queued, and
 * `withdrawSkippedJobs` finishes the work later; meanwhile the tombstone keeps any device from
 * claiming it.
 */
export const withdrawOrderJobs = async (trx: Knex.Transaction, event: { id: string; type: string; data: { orderId: string } }) => {
  await lockLog(trx)
  await placeTombstone(trx, 'order', event.data.orderId, event)
  await withdrawJobs(trx, withdrawableJobsOf(trx, event.data.orderId).forUpdate().skipLocked())
  return (await withdrawableJobsOf(trx, event.data.orderId)).length
}

/**
 * withdraw, after the cancellation's commit, outside the log's lock: the order's jobs still
 * queued are waited for (a claim in progress ends first) and withdrawn. Row locks first, the log
 * after, as every job change does.
 */
export const withdrawSkippedJobs = (trx: Knex.Transaction, orderId: string) => withdrawJobs(trx, withdrawableJobsOf(trx, orderId).forUpdate())
