// Printing (notify-service's /print-jobs and /printers), typed from ARCHITECTURE.md's contract
// while notify-service's schemas for them are being written: once they exist, these types are
// generated like the others (scripts/generate-types.mjs) and this file goes.
import type { ShippingAddress } from './schema-types'

/** `queued` → `printing` (claimed by one device) → `printed` | `failed`; a claim not confirmed in time becomes `unconfirmed`. */
export type PrintJobStatus = 'queued' | 'printing' | 'printed' | 'failed' | 'unconfirmed'

/** What a receipt shows: everything comes with the job, nothing is looked up at print time. */
export interface Receipt {
  shopName: string | null
  orderId: string
  placedAt: string
  buyerName: string
  shippingAddress: ShippingAddress
  lines: Array<{ title: string; quantity: number; unitPrice: number; total: number }>
  /** Minor units of `currency`. */
  total: number
  currency: string
}

/** The data of a `print.job` message on the stream. */
export interface PrintJobMessage {
  jobId: string
  orderId: string
  /** A reprint asked for by the seller, not the original. */
  copy: boolean
  createdAt: string
  receipt: Receipt
}

/** The data of a `print.job.updated` message on the seller's stream: a job's new state. */
export interface PrintJobUpdateMessage {
  jobId: string
  orderId: string
  copy: boolean
  status: PrintJobStatus
  /** The device that claimed it, and how it is connected. */
  deviceId: string | null
  transport: 'sse' | 'cloudprnt' | null
  error: string | null
  claimedAt: string | null
  finishedAt: string | null
}

export interface PrintJob {
  id: string
  orderId: string
  status: PrintJobStatus
  copy: boolean
  createdAt: string
  receipt: Receipt
}

/** By a device: `printing` claims the job (409 if another device has it), then `printed` or `failed`. */
export interface PrintJobPatch {
  status: 'printing' | 'printed' | 'failed'
  error?: string
}

/** A reprint of an order's receipt (`copy: true`), by its seller. */
export interface ReprintData {
  orderId: string
}

export interface PrintJobQuery {
  status?: PrintJobStatus
  $limit?: number
  $skip?: number
}

/** A seller's device as a printer. */
export interface Printer {
  id: string
  name: string
  online: boolean
  lastSeenAt: string | null
  /** How it gets its jobs, e.g. `sse` or `cloudprnt`. */
  transport: string
}
