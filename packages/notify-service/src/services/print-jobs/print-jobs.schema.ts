import type { HookContext } from '@feathersjs/feathers'
import { resolve } from '@feathersjs/schema'
import { getValidator, StringEnum, Type, type Static } from '@feathersjs/typebox'
import { dataValidator, publicQuerySyntax, queryValidator, SingleLineText } from '@marketmesh/shared'
import { receiptSchema } from '@marketmesh/receipts'
import { printJobStatuses, printTransports, type PrintJob, type PrintJobRow } from '../../printing/print-job'

export type { Receipt } from '@marketmesh/receipts'
export type { PrintJob, PrintJobRow, PrintJobStatus, PrintJobUpdateMessage, PrintTransport } from '../../printing/print-job'

const Uuid = Type.String({ format: 'uuid' })
const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()])

export const printJobSchema = Type.Object(
  {
    id: Uuid,
    sellerId: Uuid,
    orderId: Uuid,
    /** A reprint (`POST /print-jobs`), marked "COPY" on paper. */
    copy: Type.Boolean(),
    status: StringEnum([...printJobStatuses]),
    /** The device that claimed it, and how it is connected. */
    deviceId: Nullable(Uuid),
    transport: Type.Union([StringEnum([...printTransports]), Type.Null()]),
    /** The device's error, for a failed job. */
    error: Nullable(Type.String()),
    receipt: receiptSchema,
    createdAt: Type.String({ format: 'date-time' }),
    claimedAt: Nullable(Type.String({ format: 'date-time' })),
    finishedAt: Nullable(Type.String({ format: 'date-time' }))
  },
  { $id: 'PrintJob', additionalProperties: false }
)

const { orderId, copy, status, deviceId, transport, error, claimedAt, finishedAt } = printJobSchema.properties
/** The `data` of a `print.job.updated` message on the seller's stream: a job's new state. */
export const printJobUpdateMessageSchema = Type.Object(
  { jobId: Uuid, orderId, copy, status, deviceId, transport, error, claimedAt, finishedAt },
  { $id: 'PrintJobUpdateMessage', additionalProperties: false }
)

export const printJobExternalResolver = resolve<PrintJobRow, HookContext>({
  notificationId: async () => undefined
})

export const printJobFields = Object.keys(printJobSchema.properties) as [keyof PrintJob, ...Array<keyof PrintJob>]

export const printJobQuerySchema = publicQuerySyntax(
  Type.Pick(printJobSchema, ['id', 'orderId', 'status', 'copy', 'deviceId', 'createdAt', 'claimedAt', 'finishedAt']),
  printJobFields
)
export type PrintJobQuery = Static<typeof printJobQuerySchema>
export const printJobQueryValidator = getValidator(printJobQuerySchema, queryValidator)

/** A reprint of an order's receipt. */
export const printJobDataSchema = Type.Object({ orderId: Uuid }, { $id: 'PrintJobData', additionalProperties: false })
export type PrintJobData = Static<typeof printJobDataSchema>
export const printJobDataValidator = getValidator(printJobDataSchema, dataValidator)

/** A device's step: claim (`printing`), then `printed` or `failed` (with its error). */
export const printJobPatchSchema = Type.Object(
  {
    status: StringEnum(['printing', 'printed', 'failed']),
    error: Type.Optional(SingleLineText({ minLength: 1, maxLength: 500 }))
  },
  { $id: 'PrintJobPatch', additionalProperties: false }
)
export type PrintJobPatch = Static<typeof printJobPatchSchema>
export const printJobPatchValidator = getValidator(printJobPatchSchema, dataValidator)
