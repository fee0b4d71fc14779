import { getValidator, Type, type Static } from '@feathersjs/typebox'
import { dataValidator, SingleLineText } from '@marketmesh/shared'

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
    // A token of the payment provider's (card data never reaches this service).
    payment: Type.Object({ provider: Type.Literal('test'), token: Text(255) }, { additionalProperties: false })
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

export const checkoutSchema = Type.Object(
  {
    id: Uuid,
    /** `pending` while any of its orders is pending, then `settled`. */
    status: Type.Union([Type.Literal('pending'), Type.Literal('settled')]),
    orders: Type.Array(orderSummarySchema)
  },
  { $id: 'Checkout', additionalProperties: false }
)
export type Checkout = Static<typeof checkoutSchema>
