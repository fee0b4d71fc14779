import { getValidator, StringEnum, Type, type Static } from '@feathersjs/typebox'
import { dataValidator, publicQuerySyntax, queryValidator, SingleLineText } from '@marketmesh/shared'
import { orderStatuses, requestedStatuses } from '../../orders/status'
import { refundSchema } from '../refunds/refunds.schema'

const Uuid = Type.String({ format: 'uuid' })
const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()])

export const orderLineSchema = Type.Object({
  productId: Uuid,
  title: Type.String(),
  quantity: Type.Integer({ minimum: 1 }),
  unitPrice: Type.Integer({ minimum: 0 })
})

export const timelineEntrySchema = Type.Object({
  at: Type.String({ format: 'date-time' }),
  from: Nullable(Type.String()),
  to: Type.String(),
  /** A user id, or `system` for the saga and the timers. */
  by: Type.String(),
  reason: Nullable(Type.String())
})

/** A refund as the order's buyer and seller see it: not who asked for it, nor the provider's reference. */
export const orderRefundSchema = Type.Pick(refundSchema, ['id', 'amount', 'currency', 'status', 'reason', 'createdAt'], { $id: 'OrderRefund' })

export const orderSchema = Type.Object(
  {
    id: Uuid,
    checkoutId: Uuid,
    buyerId: Uuid,
    sellerId: Uuid,
    status: StringEnum([...orderStatuses]),
    /** Why it was rejected or cancelled, e.g. `payment_failed`, `timeout`. */
    reason: Nullable(Type.String()),
    total: Type.Integer({ minimum: 0 }),
    currency: Type.String(),
    buyerName: Type.String(),
    shopName: Nullable(Type.String()),
    trackingNumber: Nullable(Type.String()),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
    lines: Type.Array(orderLineSchema),
    timeline: Type.Array(timelineEntrySchema),
    /** Minor units paid back so far: the sum of the succeeded refunds. */
    refunded: Type.Integer({ minimum: 0 }),
    /** Every refund of the order, oldest first, `pending` until the provider has paid it back. */
    refunds: Type.Array(orderRefundSchema)
  },
  { $id: 'Order', additionalProperties: false }
)
export type Order = Static<typeof orderSchema>

// Read from other tables after the query (hooks/attach-order-details.ts).
const attached = ['lines', 'timeline', 'refunded', 'refunds']

/** The columns of the `orders` table a caller may read, filter and sort by. */
export const orderColumns = Object.keys(orderSchema.properties).filter((key) => !attached.includes(key)) as [keyof Order, ...Array<keyof Order>]

export const orderQueryProperties = Type.Pick(orderSchema, ['id', 'checkoutId', 'buyerId', 'sellerId', 'status', 'total', 'createdAt', 'updatedAt'])
export const orderQuerySchema = publicQuerySyntax(orderQueryProperties, orderColumns)
export type OrderQuery = Static<typeof orderQuerySchema>
export const orderQueryValidator = getValidator(orderQuerySchema, queryValidator)

export const orderPatchSchema = Type.Object(
  {
    status: StringEnum([...requestedStatuses]),
    trackingNumber: Type.Optional(SingleLineText({ minLength: 1, maxLength: 100 }))
  },
  { $id: 'OrderPatch', additionalProperties: false }
)
export type OrderPatch = Static<typeof orderPatchSchema>
export const orderPatchValidator = getValidator(orderPatchSchema, dataValidator)
