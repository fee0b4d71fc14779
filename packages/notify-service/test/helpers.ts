import { randomUUID } from 'node:crypto'
import { type EventData, type EventType } from '@marketmesh/events'
import { type Principal } from '@marketmesh/shared'
import { type Receipt } from '@marketmesh/receipts'
import { waitFor } from '@marketmesh/test-support'
import { orderRef } from '@marketmesh/test-support/events'
import { admin, startServiceUnderTest, type ServiceUnderTest } from '@marketmesh/test-support/service-under-test'
import { createApp } from '../src/app'

export { admin, buyer, seller } from '@marketmesh/test-support/service-under-test'
export { emailVerificationRequested, orderPaid, orderRef, registeredDevice, userRegistered } from '@marketmesh/test-support/events'

export const startNotify = (label: string, settings?: Record<string, unknown>, watched: EventType[] = []) =>
  startServiceUnderTest({ label, createApp, settings, watched })

export type Notify = ServiceUnderTest

const someAdmin = admin()

/** Waits until the log holds `count` notifications in all (as an admin sees it). */
export const logHolds = (notify: Notify, count: number) =>
  waitFor(
    async () => {
      const { body } = await notify.call('GET', '/notifications?$limit=0', { as: someAdmin })
      return body.total >= count
    },
    { what: `${count} notifications in the log` }
  )

/** Request options that authenticate as a device, by its token. */
export const asDevice = (device: { token: string }) => ({ headers: { Authorization: `Bearer ${device.token}` } })

/** Waits for the shop's original print job of `orderId` (as its seller sees it). */
export const printJobOf = (notify: Notify, shop: Principal, orderId: string) =>
  waitFor(
    async () => {
      const { body } = await notify.call('GET', `/print-jobs?orderId=${orderId}&copy=false`, { as: shop })
      return body.data?.[0]
    },
    { what: `the print job of order ${orderId}` }
  )

/**
 * The text fields of `order.paid` with printer commands (ESC p kicks the cash drawer, GS V cuts,
 * ESC @ resets) and invisible characters (a bidi override, a zero-width space, a soft hyphen) in
 * each, as an event published before the input checks may carry them; `printable`: the same
 * fields as every device gets them, control characters as spaces and invisible characters gone.
 */
export const hostileText = {
  order: {
    buyerName: 'Ada\u001dV1 Buyer',
    shopName: 'Oak\u001bp022 & Iron',
    shippingAddress: {
      name: 'Ada\r\nBuyer\u202e',
      line1: 'Main St 1\u001bp022',
      line2: 'Flat\u001b@3',
      city: 'Ber\u200blin\u0085',
      postalCode: '10115\t',
      country: 'D\u0007E'
    },
    lines: [{ productId: randomUUID(), title: 'Oak\u001bd\u0003 side table\u00ad', quantity: 2, unitPrice: 12_500 }]
  },
  printable: {
    buyerName: 'Ada V1 Buyer',
    shopName: 'Oak p022 & Iron',
    shippingAddress: { name: 'Ada  Buyer', line1: 'Main St 1 p022', line2: 'Flat @3', city: 'Berlin ', postalCode: '10115 ', country: 'D E' },
    lines: [{ title: 'Oak d  side table', quantity: 2, unitPrice: 12_500, total: 25_000 }]
  }
} satisfies { order: Partial<EventData<'order.paid'>>; printable: Partial<Receipt> }

/** Whether any string in `value` holds a control or an invisible format character (a line break only where `lineBreaks`). */
export const holdsControlCharacters = (value: unknown, { lineBreaks = false } = {}): boolean => {
  if (typeof value === 'string') return (lineBreaks ? /(?!\n)[\p{Cc}\p{Cf}]/u : /[\p{Cc}\p{Cf}]/u).test(value)
  if (value === null || typeof value !== 'object') return false
  return Object.values(value).some((member) => holdsControlCharacters(member, { lineBreaks }))
}

/** `order.created` as order-service sends it; resolves once notify-service knows the order's buyer and shop. */
export const orderCreated = async (notify: Notify, buyer: Principal, shop: Principal) => {
  const order = orderRef(buyer, shop)
  const line = { productId: randomUUID(), quantity: 1, unitPrice: 1_000 }
  await notify.emit('order.created', { ...order, checkoutId: randomUUID(), lines: [line], total: 1_000, currency: 'EUR' })
  await waitFor(() => notify.db('conversation_orders').first('orderId').where({ orderId: order.orderId }), { what: 'the order in the read model' })
  return order
}
