import type { Id, NullableId } from '@feathersjs/feathers'
import { KnexService, type KnexAdapterOptions, type KnexAdapterParams } from '@feathersjs/knex'
import { Conflict, NotAuthenticated, NotFound } from '@feathersjs/errors'
import type { Principal, ServiceApplication } from '@marketmesh/shared'
import { queuePrintJob } from '../../printing/jobs'
import { changeJobByDevice } from '../../printing/print-job'
import type { PrintJob, PrintJobData, PrintJobPatch, PrintJobQuery, PrintJobRow } from './print-jobs.schema'

export type { PrintJob, PrintJobData, PrintJobPatch, PrintJobQuery }

export type PrintJobParams = KnexAdapterParams<PrintJobQuery>

const callerOf = (params: PrintJobParams): Principal & { sellerId: string } => {
  const { principal } = params
  if (!principal?.sellerId) throw new NotAuthenticated('Not authenticated as a seller or a device')
  return { ...principal, sellerId: principal.sellerId }
}

const inTransactionOnly = (method: string) => new Error(`print-jobs.${method} takes one record and runs in the transaction of inTransaction()`)

/**
 * Print jobs as rows of `print_jobs`. A create is a reprint of an order's receipt; a patch is a
 * device's step in a job's lifecycle (printing/lifecycle.ts), not a field update.
 */
export class PrintJobService extends KnexService<PrintJobRow, PrintJobData, PrintJobParams, PrintJobPatch> {
  constructor(
    options: KnexAdapterOptions,
    private readonly app: ServiceApplication
  ) {
    super(options)
  }

  override async create(data: PrintJobData, params?: PrintJobParams): Promise<PrintJobRow>
  override async create(data: PrintJobData[], params?: PrintJobParams): Promise<PrintJobRow[]>
  override async create(data: PrintJobData | PrintJobData[], params: PrintJobParams = {}): Promise<PrintJobRow | PrintJobRow[]> {
    const trx = params.transaction?.trx
    if (Array.isArray(data) || !trx) throw inTransactionOnly('create')
    const { sellerId } = callerOf(params)
    const original = await trx('print_jobs').first('receipt').where({ orderId: data.orderId, sellerId, copy: false })
    if (!original) throw new NotFound(`No paid order '${data.orderId}' of yours to reprint`)
    // A copy is always made: only originals are one per order.
    const copy = await queuePrintJob(trx, { sellerId, orderId: data.orderId, copy: true, receipt: original.receipt })
    if (!copy) throw new Conflict(`Order '${data.orderId}' is cancelled: its receipt is not printed again`)
    return copy
  }

  override async patch(id: Id, data: PrintJobPatch, params?: PrintJobParams): Promise<PrintJobRow>
  override async patch(id: null, data: PrintJobPatch, params?: PrintJobParams): Promise<PrintJobRow[]>
  override async patch(id: NullableId, data: PrintJobPatch, params: PrintJobParams = {}): Promise<PrintJobRow | PrintJobRow[]> {
    const trx = params.transaction?.trx
    if (id === null || !trx) throw inTransactionOnly('patch')
    return changeJobByDevice(this.app, trx, String(id), data, callerOf(params), 'sse')
  }
}

export const getOptions = (app: ServiceApplication): KnexAdapterOptions => ({
  paginate: app.get('paginate'),
  Model: app.get('postgresqlClient'),
  name: 'print_jobs'
})
