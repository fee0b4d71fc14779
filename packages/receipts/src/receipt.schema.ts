import { Type, type Static } from '@feathersjs/typebox'
import { eventSchemas } from '@marketmesh/events/event-types'
import { printableLine } from '@marketmesh/shared/free-text'
import { dataValidator } from '@marketmesh/shared/validators'

const paid = eventSchemas['order.paid'].properties
const Id = Type.String({ format: 'uuid' })

/** What a receipt shows, as `order.paid` carries it for one seller's order (ARCHITECTURE.md, printing). */
export const receiptSchema = Type.Object({
  shopName: paid.shopName,
  orderId: Id,
  placedAt: paid.placedAt,
  buyerName: paid.buyerName,
  shippingAddress: paid.shippingAddress,
  lines: Type.Array(Type.Object({ title: Type.String(), quantity: Type.Integer({ minimum: 1 }), unitPrice: paid.total, total: paid.total }), {
    minItems: 1
  }),
  total: paid.total,
  currency: paid.currency
})
export type Receipt = Static<typeof receiptSchema>

// The zero-width (non-)joiners free text may hold are no characters of a printer's code pages: ESC/POS would print a stray glyph.
const JOINERS = /[\u200c\u200d]/g

const withPrintableStrings = (value: unknown): unknown => {
  if (typeof value === 'string') return printableLine(value).replace(JOINERS, '')
  if (Array.isArray(value)) return value.map(withPrintableStrings)
  if (value === null || typeof value !== 'object') return value
  return Object.fromEntries(Object.entries(value).map(([key, member]) => [key, withPrintableStrings(member)]))
}

/**
 * The receipt with every string in it a printable line (see `printableLine`), without joiners:
 * what is handed to devices, which may print what they get as it is. `order.paid` is not checked
 * that strictly, so that an event published before the input checks still prints.
 */
export const printableReceipt = (receipt: Receipt) => withPrintableStrings(receipt) as Receipt

/** The `data` of a `print.job` SSE message: what a device prints and acknowledges by `jobId`. */
export const printJobMessageSchema = Type.Object({
  jobId: Id,
  orderId: Id,
  copy: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
  receipt: receiptSchema
})
export type PrintJobMessage = Static<typeof printJobMessageSchema>
export const validPrintJobMessage = dataValidator.compile<PrintJobMessage>(printJobMessageSchema)

/** A receipt to print: reprints say COPY. A `print.job` message is one. */
export type PrintableReceipt = Pick<PrintJobMessage, 'receipt' | 'copy'>
