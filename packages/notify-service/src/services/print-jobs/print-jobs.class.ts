import type { Id, NullableId } from '@feathersjs/feathers'
import { KnexService, type KnexAdapterOptions, type KnexAdapterParams } from '@feathersjs/knex'
import { NotAuthenticated } from '@feathersjs/errors'
import type { Principal, ServiceApplication } from '@marketmesh/shared'
import { reprint, takeDeviceStep } from '../../printing/print-job'
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
 * device's step in a job's life (printing/print-job.ts), not a field update.
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
    return reprint(trx, callerOf(params).sellerId, data.orderId)
  }

  override async patch(id: Id, data: PrintJobPatch, params?: PrintJobParams): Promise<PrintJobRow>
  override async patch(id: null, data: PrintJobPatch, params?: PrintJobParams): Promise<PrintJobRow[]>
  override async patch(id: NullableId, data: PrintJobPatch, params: PrintJobParams = {}): Promise<PrintJobRow | PrintJobRow[]> {
    const trx = params.transaction?.trx
    if (id === null || !trx) throw inTransactionOnly('patch')
    return takeDeviceStep(this.app, trx, String(id), data, callerOf(params), 'sse')
  }
}

export const getOptions = (app: ServiceApplication): KnexAdapterOptions => ({
  paginate: app.get('paginate'),
  Model: app.get('postgresqlClient'),
  name: 'print_jobs'
})
