import { Conflict, NotFound } from '@feathersjs/errors'
import { durationMs, invalidField, tombstoneOf, type Knex, type ServiceApplication } from '@marketmesh/shared'
import type { PrintJobPatch, PrintJobRow, PrintTransport } from '../services/print-jobs/print-jobs.schema'
import { announceJobState, jobFromRow } from './jobs'

/** The durable timer of a claim: a side effect due `printing.confirmTimeout` after it. */
export const CONFIRM_TIMEOUT = 'print-confirm-timeout'

export interface Device {
  id: string
  sellerId: string
}

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
  const claimed = await update(trx, job, { status: 'printing', deviceId: device.id, transport, claimedAt: trx.fn.now() })
  await app
    .get('events')
    .effects.schedule(trx, CONFIRM_TIMEOUT, job.id, { jobId: job.id }, { delayMs: durationMs(app.get('printing').confirmTimeout) })
  return claimed
}

const notFound = (id: string) => new NotFound(`No record found for id '${id}'`)

/**
 * A device's step on a job of its shop: `printing` claims a queued job (the first device wins),
 * then the device that claimed it reports `printed` or `failed`, also late, once the claim went
 * `unconfirmed` (it is the truth about the paper). Repeating the step one has taken (a retried
 * request) answers the job unchanged; any other step is a 409 naming the job's status.
 */
export const changeJobByDevice = async (
  app: ServiceApplication,
  trx: Knex.Transaction,
  id: string,
  change: PrintJobPatch,
  device: Device,
  transport: PrintTransport
) => {
  if (change.error !== undefined && change.status !== 'failed') throw invalidField('error', 'is only for status failed')
  const job = await lockJob(trx, id, device.sellerId)
  if (!job) throw notFound(id)
  const mine = job.deviceId === device.id
  if (mine && job.status === change.status) return job
  const holder = job.deviceId && !mine ? ' on another device' : ''
  if (change.status === 'printing') {
    if (job.status !== 'queued') throw new Conflict(`Print job ${id} is ${job.status}${holder}: it cannot be claimed`)
    // Still queued after its order's cancellation, which skipped it while another claim held it.
    if (await tombstoneOf(trx, 'order', job.orderId)) throw new Conflict(`Print job ${id} is being withdrawn: its order was cancelled`)
    return claim(app, trx, job, device, transport)
  }
  if (!mine || !['printing', 'unconfirmed'].includes(job.status)) {
    const why = job.status === 'queued' ? ': claim it first (status printing)' : `${holder}: it cannot become ${change.status}`
    throw new Conflict(`Print job ${id} is ${job.status}${why}`)
  }
  return update(trx, job, { status: change.status, error: change.status === 'failed' ? (change.error ?? null) : null, finishedAt: trx.fn.now() })
}

/** The oldest queued job of the device's shop, claimed for it (CloudPRNT's poll), or none. */
export const claimNextJob = async (app: ServiceApplication, trx: Knex.Transaction, device: Device, transport: PrintTransport) => {
  const row = await trx('print_jobs')
    .forUpdate()
    .skipLocked()
    .first()
    .where({ sellerId: device.sellerId, status: 'queued' })
    // Not one its order's cancellation is withdrawing (see withdrawOrderJobs).
    .whereNotExists(trx('tombstones').where({ aggregate: 'order' }).whereRaw('aggregate_id = print_jobs."orderId"::text'))
    .orderBy('createdAt')
  return row ? claim(app, trx, jobFromRow(row), device, transport) : undefined
}

/** A claim's timer: still `printing`, it becomes `unconfirmed` and stays so (the seller may reprint). */
export const expireClaim = async (trx: Knex.Transaction, id: string) => {
  const row = await trx('print_jobs').forUpdate().first().where({ id })
  if (row?.status !== 'printing') return undefined
  return update(trx, jobFromRow(row), { status: 'unconfirmed' })
}
