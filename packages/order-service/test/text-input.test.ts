import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { admin, buyer, checkoutBody, knownProducts, productCreated, seller, shippingAddress, startOrders, type Orders } from './helpers'

let orders: Orders
beforeAll(async () => {
  orders = await startOrders('text_input')
})
afterAll(() => orders?.close())

describe('free text in orders', () => {
  it('refuses printer commands and invisible characters in the shipping address with a 400 naming the field, and writes nothing', async () => {
    const [product] = await knownProducts(orders, [productCreated(seller())])
    const customer = buyer()
    const cases: Array<[Record<string, string>, string]> = [
      [{ line1: 'Main St 1\u001bp022' }, 'Invalid shippingAddress.line1: must not contain U+001B (a control character)'],
      [{ line2: 'Flat 3\u001dV1' }, 'Invalid shippingAddress.line2: must not contain U+001D (a control character)'],
      [{ name: 'Ada\r\nBuyer' }, 'Invalid shippingAddress.name: must not contain U+000D (a control character)'],
      [{ city: 'Ber\u200blin' }, 'Invalid shippingAddress.city: must not contain U+200B (an invisible format character)'],
      [{ postalCode: '10115\u202e' }, 'Invalid shippingAddress.postalCode: must not contain U+202E (an invisible format character)'],
      [{ line1: 'Main St 1\n' }, 'Invalid shippingAddress.line1: must not contain U+000A (a line break)']
    ]
    for (const [fields, message] of cases) {
      const body = { ...checkoutBody([{ productId: product.productId, quantity: 1 }]), shippingAddress: { ...shippingAddress, ...fields } }
      const response = await orders.call('POST', '/checkouts', { as: customer, body, headers: { 'Idempotency-Key': randomUUID() } })
      expect(response.status, JSON.stringify(fields)).toBe(400)
      expect(response.body.message).toBe(message)
    }
    expect(await orders.db('orders').where({ buyerId: customer.id })).toEqual([])

    const accented = {
      ...checkoutBody([{ productId: product.productId, quantity: 1 }]),
      shippingAddress: { ...shippingAddress, line1: 'Königstraße 5' }
    }
    expect((await orders.call('POST', '/checkouts', { as: customer, body: accented, headers: { 'Idempotency-Key': randomUUID() } })).status).toBe(201)
  })

  it('refuses them in a tracking number and a refund reason', async () => {
    const shipped = await orders.call('PATCH', `/orders/${randomUUID()}`, {
      as: seller(),
      body: { status: 'shipped', trackingNumber: 'DHL\u001b123' }
    })
    expect(shipped.status).toBe(400)
    expect(shipped.body.message).toBe('Invalid trackingNumber: must not contain U+001B (a control character)')
    const refund = await orders.call('POST', '/refunds', {
      as: admin(),
      body: { orderId: randomUUID(), reason: 'broken\u2066 leg' },
      headers: { 'Idempotency-Key': randomUUID() }
    })
    expect(refund.status).toBe(400)
    expect(refund.body.message).toBe('Invalid reason: must not contain U+2066 (an invisible format character)')
  })
})
