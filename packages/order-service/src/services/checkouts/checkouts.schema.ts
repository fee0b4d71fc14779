import { getValidator, Type, type Static } from '@feathersjs/typebox'
import { dataValidator, SingleLineText } from '@marketmesh/shared'
import { paymentStatuses } from '../../orders/status'

const Uuid = Type.String({ format: 'uuid' })
const Text = (maxLength: number) => SingleLineText({ minLength: 1, maxLength, pattern: '\\S' })

export const shippingAddressSchema = Type.Object(
  {
    name: Text(200),
    line1: Text(200),
    line2: Type.Optional(SingleLineText({ maxLength: 200 })),
    city: Text(100),
    postalCode: Text(20),
    /** ISO 3166-1 alpha-2, e.g. `DE`. */
    country: Type.String({ pattern: '^[A-Z]{2}$' })
  },
  { $id: 'ShippingAddress', additionalProperties: false }
)
export type ShippingAddress = Static<typeof shippingAddressSchema>

export const checkoutDataSchema = Type.Object(
  {
    items: Type.Array(Type.Object({ productId: Uuid, quantity: Type.Integer({ minimum: 1, maximum: 999 }) }, { additionalProperties: false }), {
      minItems: 1,
      maxItems: 100
    }),
    shippingAddress: shippingAddressSchema,
    // A provider this service has (e.g. `test`), and its token of the buyer's payment method (card
    // data never reaches this service); without one, the buyer's app confirms the payment with the
    // provider's SDK (`payment.clientSecret` in the answer).
    payment: Type.Object(
      { provider: Type.String({ pattern: '^[a-z][a-z0-9_-]{0,31}$' }), token: Type.Optional(Text(255)) },
      { additionalProperties: false }
    )
  },
  { $id: 'CheckoutData', additionalProperties: false }
)
export type CheckoutData = Static<typeof checkoutDataSchema>
export const checkoutDataValidator = getValidator(checkoutDataSchema, dataValidator)

export const orderSummarySchema = Type.Object({
  id: Uuid,
  sellerId: Uuid,
  status: Type.String(),
  total: Type.Integer({ minimum: 0 }),
  currency: Type.String()
})

/** The checkout's one payment: its total authorized once, what the sellers reserved captured once. */
export const checkoutPaymentSchema = Type.Object(
  {
    id: Uuid,
    provider: Type.String(),
    status: Type.Union(paymentStatuses.map((status) => Type.Literal(status))),
    /** What was authorized: the total of the checkout's orders. */
    amount: Type.Integer({ minimum: 0 }),
    /** What was captured (the reserved orders' totals) and refunded of it so far. */
    captured: Type.Integer({ minimum: 0 }),
    refunded: Type.Integer({ minimum: 0 }),
    currency: Type.String(),
    /** While `requires_action`: what the buyer's app confirms the payment with, using the provider's SDK. */
    clientSecret: Type.Optional(Type.String())
  },
  { $id: 'CheckoutPayment', additionalProperties: false }
)
export type CheckoutPayment = Static<typeof checkoutPaymentSchema>

export const checkoutSchema = Type.Object(
  {
    id: Uuid,
    /** `pending` while any of its orders is pending, then `settled`. */
    status: Type.Union([Type.Literal('pending'), Type.Literal('settled')]),
    orders: Type.Array(orderSummarySchema),
    payment: checkoutPaymentSchema
  },
  { $id: 'Checkout', additionalProperties: false }
)
export type Checkout = Static<typeof checkoutSchema>
