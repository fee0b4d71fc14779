import { Type, type Static, type TSchema } from '@feathersjs/typebox'

/**
 * The event catalog: every event type on the `<prefix>.events` exchange and the schema of its
 * `data`. Publishers and consumers both validate against it, so a change here is a contract change.
 */

const Id = Type.String({ format: 'uuid' })
const Money = { amount: Type.Integer({ minimum: 0 }), currency: Type.String({ pattern: '^[A-Z]{3}$' }) }
const Role = Type.Union([Type.Literal('buyer'), Type.Literal('seller'), Type.Literal('admin')])

// The aggregate's own revision (1 when it is created, one more per change), not the envelope's
// schema version: a read model keeps the highest it has seen, since instances' clocks differ, two
// changes can share a millisecond, and events of one aggregate arrive in any order.
const Revision = Type.Integer({ minimum: 1 })

const userFields = {
  userId: Id,
  version: Revision,
  email: Type.String({ format: 'email' }),
  name: Type.String(),
  role: Role,
  status: Type.Union([Type.Literal('active'), Type.Literal('disabled')]),
  shopName: Type.Optional(Type.String()),
  shopSlug: Type.Optional(Type.String())
}

const productFields = {
  productId: Id,
  sellerId: Id,
  version: Revision,
  parentId: Type.Optional(Type.Union([Id, Type.Null()])),
  title: Type.String(),
  price: Money.amount,
  currency: Money.currency,
  status: Type.Union([Type.Literal('active'), Type.Literal('archived')]),
  /** The product's ready images, in their order (catalog-service serves them); absent where a change did not look at them. */
  imageIds: Type.Optional(Type.Array(Id, { maxItems: 100 }))
}

// Every order event carries the order's revision after the change it reports.
const orderRef = { orderId: Id, buyerId: Id, sellerId: Id, version: Revision }
const orderLine = Type.Object({
  productId: Id,
  quantity: Type.Integer({ minimum: 1 }),
  unitPrice: Money.amount
})
// Every payout event carries the payout's revision after the change it reports.
const payoutRef = { payoutId: Id, orderId: Id, sellerId: Id, version: Revision, amount: Money.amount, currency: Money.currency }
const stockLine = Type.Object({ productId: Id, quantity: Type.Integer({ minimum: 1 }) })

export const eventSchemas = {
  'user.registered': Type.Object(userFields),
  'user.updated': Type.Object(userFields),
  // A one-time token to mail to `email`, the address it was made for; user-service keeps only its hash.
  // Only notify-service consumes these events, and no service logs an event's data.
  'user.password_reset_requested': Type.Object({
    userId: Id,
    email: Type.String({ format: 'email' }),
    token: Type.String({ minLength: 1 }),
    expiresAt: Type.String({ format: 'date-time' })
  }),
  // `welcome`: made at registration, so the link goes in the welcome mail (which names the shop).
  'user.email_verification_requested': Type.Object({
    userId: Id,
    email: Type.String({ format: 'email' }),
    token: Type.String({ minLength: 1 }),
    expiresAt: Type.String({ format: 'date-time' }),
    welcome: Type.Boolean(),
    shopName: Type.Optional(Type.String())
  }),
  // A SHA-256 hash of a 256-bit random token is no secret: services that let devices in verify against it.
  'device.registered': Type.Object({ deviceId: Id, sellerId: Id, name: Type.String(), tokenHash: Type.String({ pattern: '^[0-9a-f]{64}$' }) }),
  'device.revoked': Type.Object({ deviceId: Id, sellerId: Id }),
  'product.created': Type.Object(productFields),
  'product.updated': Type.Object(productFields),
  'product.deleted': Type.Object({ productId: Id, sellerId: Id, version: Revision }),
  // Both name the order's checkout: order-service's handlers lock it (see its events/index.ts).
  'stock.reserved': Type.Object({ orderId: Id, checkoutId: Id, lines: Type.Array(orderLine, { minItems: 1 }), currency: Money.currency }),
  'stock.rejected': Type.Object({
    orderId: Id,
    checkoutId: Id,
    reasons: Type.Array(Type.Object({ productId: Id, reason: Type.String() }), { minItems: 1 })
  }),
  'stock.released': Type.Object({ orderId: Id, lines: Type.Array(stockLine) }),
  'review.created': Type.Object({
    reviewId: Id,
    productId: Id,
    orderId: Id,
    buyerId: Id,
    ratings: Type.Object({
      quality: Type.Integer({ minimum: 1, maximum: 5 }),
      value: Type.Integer({ minimum: 1, maximum: 5 }),
      delivery: Type.Integer({ minimum: 1, maximum: 5 })
    })
  }),
  'order.created': Type.Object({
    ...orderRef,
    checkoutId: Id,
    lines: Type.Array(orderLine, { minItems: 1 }),
    total: Money.amount,
    currency: Money.currency
  }),
  // Everything a receipt needs, so notify-service prints without asking another service.
  'order.paid': Type.Object({
    ...orderRef,
    checkoutId: Id,
    total: Money.amount,
    currency: Money.currency,
    paymentId: Type.String(),
    placedAt: Type.String({ format: 'date-time' }),
    buyerName: Type.String(),
    shopName: Type.Union([Type.String(), Type.Null()]),
    shippingAddress: Type.Object({
      name: Type.String(),
      line1: Type.String(),
      line2: Type.Optional(Type.String()),
      city: Type.String(),
      postalCode: Type.String(),
      country: Type.String()
    }),
    lines: Type.Array(Type.Object({ productId: Id, title: Type.String(), quantity: Type.Integer({ minimum: 1 }), unitPrice: Money.amount }), {
      minItems: 1
    })
  }),
  'order.rejected': Type.Object({ ...orderRef, reason: Type.String() }),
  // A message between a buyer and a shop (notify-service's conversations), about an order or a product.
  'conversation.message.created': Type.Object({
    conversationId: Id,
    messageId: Id,
    buyerId: Id,
    sellerId: Id,
    subject: Type.Object({ type: Type.Union([Type.Literal('order'), Type.Literal('product')]), id: Id }),
    senderId: Id,
    senderRole: Type.Union([Type.Literal('buyer'), Type.Literal('seller')]),
    body: Type.String(),
    createdAt: Type.String({ format: 'date-time' })
  }),
  // An admin hid a message: both parties see it as removed.
  'conversation.message.hidden': Type.Object({ conversationId: Id, messageId: Id, hiddenBy: Id, reason: Type.String() }),
  'order.cancelled': Type.Object({ ...orderRef, reason: Type.String() }),
  'order.shipped': Type.Object(orderRef),
  'order.delivered': Type.Object({ ...orderRef, productIds: Type.Array(Id) }),
  'order.completed': Type.Object({ ...orderRef, payout: Money.amount, commission: Money.amount, currency: Money.currency }),
  'order.refunded': Type.Object({
    ...orderRef,
    amount: Money.amount,
    currency: Money.currency,
    // Absent in events written before it: money only, as for any refund after shipping.
    restock: Type.Optional(
      Type.Boolean({ description: 'True when this refund completes the full refund of an order never shipped: its stock comes back.' })
    )
  }),
  // A seller's payout for an order released from escrow (order-service `payouts`).
  'payout.paid': Type.Object({ ...payoutRef, reference: Type.String() }),
  'payout.failed': Type.Object({ ...payoutRef, reason: Type.String() }),
  // Taken back from the seller's account: for a refund after the payout, or by the provider.
  'payout.reversed': Type.Object({ ...payoutRef, reason: Type.Union([Type.Literal('refund'), Type.Literal('provider')]) })
} satisfies Record<string, TSchema>

export type EventType = keyof typeof eventSchemas
export type EventData<T extends EventType> = Static<(typeof eventSchemas)[T]>
export const eventTypes = Object.keys(eventSchemas) as EventType[]

/** Bumped when an event's data changes incompatibly; consumers see it in the envelope. */
export const EVENT_VERSION = 1

export const envelopeSchema = Type.Object({
  id: Id,
  type: Type.Union(eventTypes.map((type) => Type.Literal(type))),
  version: Type.Integer({ minimum: 1 }),
  occurredAt: Type.String({ format: 'date-time' }),
  source: Type.String({ minLength: 1 }),
  correlationId: Type.String({ minLength: 1 }),
  causationId: Type.Union([Type.String(), Type.Null()]),
  data: Type.Object({})
})

/** What travels on the wire: the envelope of docs/architecture.md, typed by its event type. */
export interface EventEnvelope<T extends EventType = EventType> {
  id: string
  type: T
  version: number
  occurredAt: string
  source: string
  correlationId: string
  causationId: string | null
  data: EventData<T>
}
