import { randomUUID } from 'node:crypto'
import { placeTombstone, tombstoneOf, type Knex, type PrintJobMessage, type Receipt } from '@marketmesh/shared'
import { appendNotification, lockLog } from '../log/append'
import type { PrintJob, PrintJobRow, PrintJobUpdateMessage } from '../services/print-jobs/print-jobs.schema'

export const PRINT_JOB = 'print.job'
export const PRINT_JOB_UPDATED = 'print.job.updated'
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

/**
 * Queues a job in `trx` and puts its `print.job` in the log for the shop's devices. An original
 * is made once per order: the check runs under the log's lock, which every transaction that makes
 * a job holds to commit, so two deliveries of one `order.paid` (or two of its events) cannot both
 * pass it; the unique index stands behind. Returns the job, or nothing when the order had one or
 * was cancelled.
 */
export const queuePrintJob = async (
  trx: Knex.Transaction,
  { sellerId, orderId, copy, receipt, eventId }: { sellerId: string; orderId: string; copy: boolean; receipt: Receipt; eventId?: string }
) => {
  await lockLog(trx)
  // A cancellation handled first (events of one order arrive in any order) leaves nothing to print.
  if (await tombstoneOf(trx, 'order', orderId)) return undefined
  if (!copy && (await trx('print_jobs').first('id').where({ orderId, copy: false }))) return undefined
  const job: PrintJob = {
    id: randomUUID(),
    sellerId,
    orderId,
    copy,
    status: 'queued',
    deviceId: null,
    transport: null,
    error: null,
    receipt,
    createdAt: new Date().toISOString(),
    claimedAt: null,
    finishedAt: null
  }
  const notificationId = await appendNotification(trx, {
    type: PRINT_JOB,
    data: printJobMessage(job),
    audience: { sellerId, devices: true },
    eventId
  })
  await trx('print_jobs').insert({ ...job, receipt: JSON.stringify(receipt), notificationId })
  return { ...job, notificationId: String(notificationId) }
}

/** Tells the seller's streams about a job's new state (after its row was changed and locked: see lifecycle.ts). */
export const announceJobState = (trx: Knex.Transaction, job: PrintJob) =>
  appendNotification(trx, { type: PRINT_JOB_UPDATED, data: printJobUpdate(job), audience: { sellerId: job.sellerId } })

const queuedJobsOf = (trx: Knex.Transaction, orderId: string) => trx('print_jobs').select('id').where({ orderId, status: 'queued' })

/** The jobs `ids` selects become `cancelled`, each announced to its seller; returns how many. */
const cancelJobs = async (trx: Knex.Transaction, ids: Knex.QueryBuilder) => {
  const rows = await trx('print_jobs').whereIn('id', ids).update({ status: 'cancelled', finishedAt: trx.fn.now() }).returning('*')
  for (const row of rows) await announceJobState(trx, jobFromRow(row))
  return rows.length
}

/**
 * Its order cancelled: the order's queued jobs become `cancelled` (a device that asks for one gets
 * a 409), and a job made later is not made. The tombstone is placed under the log's lock, the lock
 * `queuePrintJob` checks it under, so either the job exists here or it will never be made. A job a
 * device is claiming right now (its row locked) is skipped, not waited for: waiting for its row
 * while holding the log's lock could deadlock with the claim's announcement. Returns how many were
 * skipped: if that claim is then rolled back, the job is still queued, and `withdrawSkippedJobs`
 * finishes the work later; meanwhile the tombstone keeps any device from claiming it.
 */
export const withdrawOrderJobs = async (trx: Knex.Transaction, event: { id: string; type: string; data: { orderId: string } }) => {
  await lockLog(trx)
  await placeTombstone(trx, 'order', event.data.orderId, event)
  await cancelJobs(trx, queuedJobsOf(trx, event.data.orderId).forUpdate().skipLocked())
  return (await queuedJobsOf(trx, event.data.orderId)).length
}

/**
 * After the cancellation's commit, outside the log's lock: the order's jobs still queued are
 * waited for (a claim in progress ends first) and withdrawn. Row locks first, the log after, as
 * every job change does.
 */
export const withdrawSkippedJobs = (trx: Knex.Transaction, orderId: string) => cancelJobs(trx, queuedJobsOf(trx, orderId).forUpdate())
