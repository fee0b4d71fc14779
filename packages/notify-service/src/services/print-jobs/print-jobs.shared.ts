import type { Id, Paginated, Params } from '@feathersjs/feathers'
import type { ClientApplication } from '../../client'
import type { PrintJob, PrintJobData, PrintJobPatch, PrintJobQuery } from './print-jobs.schema'

export type { PrintJob, PrintJobData, PrintJobPatch, PrintJobQuery }

export interface PrintJobClientService {
  find(params?: Params<PrintJobQuery>): Promise<Paginated<PrintJob>>
  get(id: Id, params?: Params<PrintJobQuery>): Promise<PrintJob>
  create(data: PrintJobData, params?: Params): Promise<PrintJob>
  patch(id: Id, data: PrintJobPatch, params?: Params): Promise<PrintJob>
}

export const printJobPath = 'print-jobs'

export const printJobMethods = ['find', 'get', 'create', 'patch'] as const

export const printJobClient = (client: ClientApplication) => {
  const connection = client.get('connection')
  client.use(printJobPath, connection.service(printJobPath), { methods: [...printJobMethods] })
}

declare module '../../client' {
  interface ServiceTypes {
    [printJobPath]: PrintJobClientService
  }
}
