import { Type, type TSchema } from '@feathersjs/typebox'
import { EVENT_CONSUMERS, eventSchemas, type EventType } from '@marketmesh/events'
import { printJobMessageSchema } from '@marketmesh/receipts'
import { PRINT_JOB, PRINT_JOB_UPDATED } from '../printing/message-types'
import { announcementSchema } from '../services/announcements/announcements.schema'
import { messageSchema } from '../services/conversation-messages/conversation-messages.schema'
import { printJobUpdateMessageSchema } from '../services/print-jobs/print-jobs.schema'
import { WEBHOOK_ENDPOINT_DISABLED } from '../webhooks/sender'

/** One kind of message of `GET /stream`: its SSE `event:` name, who gets it, its `data` and an example of it. */
export interface StreamEvent {
  summary: string
  data: TSchema
  example: Record<string, unknown>
}

const ids = {
  order: '8b0a8d8e-5f3c-4d5e-9a8f-2b7c1d3e4f50',
  buyer: '1c9d6a3b-7e2f-4b8a-9c1d-0e2f3a4b5c6d',
  seller: '5e4d3c2b-1a09-4f8e-8d7c-6b5a49382716',
  checkout: '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0',
  product: '3a2b1c0d-9e8f-4a6b-8c5d-4e3f2a1b0c9d',
  payout: '7d6c5b4a-3928-4716-8f5e-4d3c2b1a0f9e',
  job: '9e8d7c6b-5a49-4382-a716-05f4e3d2c1b0',
  device: '2b3c4d5e-6f70-4182-9a3b-4c5d6e7f8091',
  conversation: '4f5e6d7c-8b9a-4a0b-9c1d-2e3f4a5b6c7d',
  message: '6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d',
  announcement: 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d',
  endpoint: 'b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e'
}
const at = '2026-05-04T09:30:00.000Z'
const address = { name: 'Bea Buyer', line1: 'Main Street 1', city: 'Utrecht', postalCode: '3511 AB', country: 'NL' }
const order = { orderId: ids.order, buyerId: ids.buyer, sellerId: ids.seller }
const payout = { payoutId: ids.payout, orderId: ids.order, sellerId: ids.seller, amount: 11_250, currency: 'EUR' }
const receipt = {
  shopName: 'Oak & Iron',
  orderId: ids.order,
  placedAt: at,
  buyerName: 'Bea Buyer',
  shippingAddress: address,
  lines: [{ title: 'Oak side table', quantity: 1, unitPrice: 12_500, total: 12_500 }],
  total: 12_500,
  currency: 'EUR'
}
const user = { userId: ids.seller, version: 1, name: 'Olga Oakley', role: 'seller', status: 'active', shopName: 'Oak & Iron' }

// The order and payout events notify-service consumes, streamed with the event's data as it is (events/notify-order.ts, notify-payout.ts).
const domainExamples: Partial<Record<EventType, Record<string, unknown>>> = {
  'order.created': {
    ...order,
    version: 1,
    checkoutId: ids.checkout,
    lines: [{ productId: ids.product, quantity: 1, unitPrice: 12_500 }],
    total: 12_500,
    currency: 'EUR'
  },
  'order.paid': {
    ...order,
    version: 2,
    checkoutId: ids.checkout,
    total: 12_500,
    currency: 'EUR',
    paymentId: 'pay_3f9c0a1b',
    placedAt: at,
    buyerName: 'Bea Buyer',
    shopName: 'Oak & Iron',
    shippingAddress: address,
    lines: [{ productId: ids.product, title: 'Oak side table', quantity: 1, unitPrice: 12_500 }]
  },
  'order.rejected': { ...order, version: 2, reason: 'Out of stock: Oak side table' },
  'order.cancelled': { ...order, version: 3, reason: 'cancelled_by_buyer' },
  'order.shipped': { ...order, version: 3 },
  'order.delivered': { ...order, version: 4, productIds: [ids.product] },
  'order.completed': { ...order, version: 5, payout: 11_250, commission: 1_250, currency: 'EUR' },
  'order.refunded': { ...order, version: 4, amount: 12_500, currency: 'EUR', restock: true },
  'payout.paid': { ...payout, version: 3, reference: 'po_1Nv0a2' },
  'payout.failed': { ...payout, version: 3, reason: 'The account cannot receive payouts yet' },
  'payout.reversed': { ...payout, version: 5, reason: 'refund' }
}
const streamedDomainEvents = EVENT_CONSUMERS['notify-service'].filter((type) => type.startsWith('order.') || type.startsWith('payout.'))

// notify-service keeps the e-mail address and the shop's slug out of a user's notification (events/notify-user.ts).
const userNotification = (type: 'user.registered' | 'user.updated'): StreamEvent => ({
  summary: `To the user: their account was ${type === 'user.registered' ? 'registered' : 'changed'}.`,
  data: Type.Omit(eventSchemas[type], ['email', 'shopSlug']),
  example: user
})

/**
 * Every message `GET /stream` sends, by its `event:` name (docs/asyncapi.yaml's stream channel is
 * written from here). Each has `id:` = its place in the notification log, but for the current
 * announcements and a device's queued print jobs sent on opening (those have none).
 */
export const streamEvents: Record<string, StreamEvent> = {
  'user.registered': userNotification('user.registered'),
  'user.updated': userNotification('user.updated'),
  ...Object.fromEntries(
    streamedDomainEvents.map((type) => [
      type,
      {
        summary: `To the order’s buyer and its shop (payouts: the shop): ${type}, its data as the event has it.`,
        data: eventSchemas[type],
        example: domainExamples[type]!
      }
    ])
  ),
  announcement: {
    summary: 'To every stream, devices’ too: an admin’s announcement (the current ones also on every open, without an id).',
    data: announcementSchema,
    example: {
      id: ids.announcement,
      message: 'Maintenance tonight from 23:00 UTC',
      level: 'warning',
      endsAt: '2026-05-05T01:00:00.000Z',
      createdAt: at
    }
  },
  resync: {
    summary: 'First on a resumed stream when part of what it missed is no longer kept: load the current state again.',
    data: Type.Object({ reason: Type.String() }),
    example: { reason: 'The notifications after your last id are no longer kept: load the current state again.' }
  },
  [PRINT_JOB]: {
    summary: 'To the shop’s devices: a new print job (claim it with PATCH /print-jobs/{jobId}).',
    data: printJobMessageSchema,
    example: { jobId: ids.job, orderId: ids.order, copy: false, createdAt: at, receipt }
  },
  [PRINT_JOB_UPDATED]: {
    summary: 'To the shop: a print job changed state (claimed, printed, failed, unconfirmed, cancelled).',
    data: printJobUpdateMessageSchema,
    example: {
      jobId: ids.job,
      orderId: ids.order,
      copy: false,
      status: 'printed',
      deviceId: ids.device,
      transport: 'sse',
      error: null,
      claimedAt: at,
      finishedAt: at
    }
  },
  message: {
    summary: 'To both parties of a conversation: a message, new or hidden (then the same id, hidden, body empty).',
    data: Type.Object({ conversationId: Type.String({ format: 'uuid' }), message: messageSchema }),
    example: {
      conversationId: ids.conversation,
      message: {
        id: ids.message,
        conversationId: ids.conversation,
        senderId: ids.buyer,
        senderRole: 'buyer',
        body: 'Is it solid oak?',
        hidden: false,
        createdAt: at
      }
    }
  },
  [WEBHOOK_ENDPOINT_DISABLED]: {
    summary: 'To an endpoint’s owner: the webhook endpoint was disabled (a 410, or failing for too long); a mail says it too.',
    data: Type.Object({ endpointId: Type.String({ format: 'uuid' }), url: Type.String(), reason: Type.String() }),
    example: { endpointId: ids.endpoint, url: 'https://erp.example.com/hooks/marketmesh', reason: 'The endpoint answered 410 Gone' }
  }
}
