import { randomUUID } from 'node:crypto'
import { createMarketmeshClient, type MarketmeshClient } from '@marketmesh/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServiceProcess, waitFor } from '@marketmesh/test-support'
import { meshEnvironment, startMesh, type Mesh } from '@marketmesh/test-support/mesh'
import { startOtlpReceiver, traceTree, type OtlpReceiver, type ReceivedSpan } from '@marketmesh/test-support/otlp-receiver'
import { startWebhookReceiver, type WebhookReceiver } from '@marketmesh/test-support/webhook-receiver'

const PASSWORD = 'correct horse battery staple'
const SHIPPING_ADDRESS = { name: 'Bea Buyer', line1: 'Main Street 1', city: 'Utrecht', postalCode: '3511 AB', country: 'NL' }

/**
 * Distributed tracing across the four services as processes, exporting OTLP/HTTP to a receiver of
 * the test's own: one checkout is one trace, from its HTTP request through the outbox, the broker,
 * each consumer, each side effect, the webhook and the SSE delivery, each span the child of the
 * one that caused it. Its delivery is another, with the escrow's release and the payout; a sign-up
 * another, from user-service (which has no part in a checkout).
 */
describe('traces across the four services: a checkout, its delivery and payout, a sign-up', () => {
  let otlp: OtlpReceiver
  let webhooks: WebhookReceiver
  let mesh: Mesh
  let seller: MarketmeshClient
  let buyer: MarketmeshClient
  let printer: MarketmeshClient
  let productId: string
  /** The order the checkout test paid, which the payout test delivers. */
  let paidOrderId: string | undefined
  const run = randomUUID().slice(0, 8)
  const emailOf = (name: string) => `${name}-${run}@example.com`
  const client = (options: { token?: string } = {}) => createMarketmeshClient({ urls: mesh.urls, ...options })
  const signedIn = async (name: string) => {
    const signing = client()
    await signing.login(emailOf(name), PASSWORD)
    return signing
  }

  beforeAll(async () => {
    otlp = await startOtlpReceiver()
    webhooks = await startWebhookReceiver()
    mesh = await startMesh(
      meshEnvironment('tracing', {
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_BSP_SCHEDULE_DELAY: '200' },
        envOf: { notify: { WEBHOOKS_ALLOW_HTTP: 'true', WEBHOOKS_ALLOW_PRIVATE: 'true' } }
      })
    )
    await client().users.create({ email: emailOf('olga'), password: PASSWORD, name: 'Olga Oakley', role: 'seller', shopName: 'Oak & Iron' })
    await client().users.create({ email: emailOf('bea'), password: PASSWORD, name: 'Bea Buyer', role: 'buyer' })
    seller = await signedIn('olga')
    buyer = await signedIn('bea')
    const device = await seller.devices.create({ name: 'Packing desk' })
    // Where the shop is paid out: the test provider's account is enabled at once.
    await seller.payoutAccounts.create({ provider: 'test', returnUrl: 'https://shop.example/payouts' })
    productId = (await seller.products.create({ title: 'Oak side table', price: 12_500, currency: 'EUR', stock: 5 })).id
    const endpoint = await fetch(`${mesh.urls.notify}/webhook-endpoints`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${seller.tokens!.accessToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ url: `${webhooks.url}/orders`, events: ['order.paid'] })
    })
    expect(endpoint.status).toBe(201)
    printer = client({ token: device.token })
    await waitFor(async () => (await printer.printJobs.find().catch(() => undefined)) !== undefined, {
      what: 'notify-service to know the device',
      timeoutMs: 30_000
    })
  }, 240_000)

  afterAll(async () => {
    await mesh?.stop()
    await webhooks?.close()
    await otlp?.close()
  }, 120_000)

  /** The one span of `trace` named `name` (in `service`), failing with the whole trace when there is not exactly one. */
  const only = (trace: ReceivedSpan[], name: string, service: string) => {
    const found = trace.filter((span) => span.name === name && span.service === service)
    expect(found, `one ${name} in ${service}:\n${traceTree(trace)}`).toHaveLength(1)
    return found[0]
  }
  const expectChild = (child: ReceivedSpan, parent: ReceivedSpan) =>
    expect(child.parentSpanId, `${child.name} [${child.service}] under ${parent.name} [${parent.service}]`).toBe(parent.spanId)
  const isQuery = (span: ReceivedSpan) => (span.attributes['db.system.name'] ?? span.attributes['db.system']) === 'postgresql'

  it('is one trace: request, outbox publish, each consumer, each side effect, the webhook and the SSE delivery', async () => {
    let opened = false
    const printed: string[] = []
    const printerStream = printer.stream({ onEvent: (event) => printed.push(event.type), onOpen: () => (opened = true) })
    await waitFor(() => opened, { what: 'the printer’s stream open' })
    const checkout = await waitFor(
      () =>
        buyer.checkouts
          .create(
            { items: [{ productId, quantity: 1 }], shippingAddress: SHIPPING_ADDRESS, payment: { provider: 'test', token: 'tok_ok' } },
            { idempotencyKey: randomUUID() }
          )
          .catch(() => undefined),
      { what: 'order-service to know the product', timeoutMs: 30_000 }
    )
    const order = await waitFor(async () => (await buyer.orders.find({ query: { checkoutId: checkout.id, status: 'paid' } })).data[0], {
      what: 'the order paid',
      timeoutMs: 30_000
    })
    paidOrderId = order.id
    const request = await waitFor(() => otlp.spans.find((span) => span.name === 'POST /checkouts'), { what: 'the checkout request span' })
    // Every span asserted below. Each service exports in batches of its own, so one service's last
    // span says nothing about another's: wait for each of them.
    const expected: [name: string, service: string, count?: number][] = [
      ['effect payment-authorize', 'order-service'],
      ['publish order.created', 'order-service'],
      ['process order.created', 'catalog-service'],
      ['process order.created', 'notify-service'],
      ['sse order.created', 'notify-service'],
      ['publish stock.reserved', 'catalog-service'],
      ['process stock.reserved', 'order-service'],
      ['publish order.paid', 'order-service'],
      ['process order.paid', 'notify-service'],
      ['effect mail', 'notify-service', 2],
      ['sse print.job', 'notify-service'],
      ['sse order.paid', 'notify-service'],
      ['webhook order.paid', 'notify-service']
    ]
    await waitFor(() => printed.includes('print.job'), { what: 'the print job on the printer’s stream' })
    printerStream.close()
    const trace = await waitFor(
      () => {
        const spans = otlp.trace(request.traceId)
        const exported = ([name, service, count = 1]: (typeof expected)[number]) =>
          spans.filter((span) => span.name === name && span.service === service).length >= count
        return expected.every(exported) && spans
      },
      { what: 'the whole trace exported', timeoutMs: 30_000 }
    )
    const chain = trace.filter((span) => !isQuery(span))
    console.log(
      `one checkout's trace (${trace.length} spans, ${trace.length - chain.length} of them PostgreSQL queries, not shown):\n${traceTree(chain)}`
    )

    // The request (no parent: the client sent no trace context), and its PostgreSQL queries under it.
    expect(request).toMatchObject({ service: 'order-service', parentSpanId: '', kind: 2 })
    expect(request.attributes['http.route']).toBe('/checkouts')
    expect(trace.some((span) => span.service === 'order-service' && span.parentSpanId === request.spanId && isQuery(span))).toBe(true)
    const authorize = only(trace, 'effect payment-authorize', 'order-service')
    expectChild(authorize, request)
    expect(authorize.attributes).toMatchObject({ 'marketmesh.side_effect': 'payment-authorize', 'marketmesh.checkout_id': checkout.id })

    // The outbox row keeps the request's context: the relay publishes in a child span of it.
    const publishCreated = only(trace, 'publish order.created', 'order-service')
    expectChild(publishCreated, request)
    expect(publishCreated).toMatchObject({ kind: 4 })
    expect(publishCreated.attributes).toMatchObject({ 'marketmesh.event_type': 'order.created', 'marketmesh.order_id': order.id })

    // Each consumer handles it in a child span of the publish, named for the consumer.
    const reserve = only(trace, 'process order.created', 'catalog-service')
    expectChild(reserve, publishCreated)
    expect(reserve).toMatchObject({ kind: 5 })
    expect(reserve.attributes).toMatchObject({
      'marketmesh.consumer': 'catalog-service',
      'marketmesh.event_type': 'order.created',
      'marketmesh.order_id': order.id
    })
    const created = only(trace, 'process order.created', 'notify-service')
    expectChild(created, publishCreated)
    expect(created.attributes['marketmesh.consumer']).toBe('notify-service')
    expectChild(only(trace, 'sse order.created', 'notify-service'), created)

    // The catalog's answer, the payment's capture, and order.paid to notify-service.
    const publishReserved = only(trace, 'publish stock.reserved', 'catalog-service')
    expectChild(publishReserved, reserve)
    const reserved = only(trace, 'process stock.reserved', 'order-service')
    expectChild(reserved, publishReserved)
    expect(reserved.attributes).toMatchObject({ 'marketmesh.consumer': 'order-service', 'marketmesh.order_id': order.id })
    // The capture follows whichever came last. The stock reserved first: the authorization's effect
    // captures too. The payment authorized first: an effect of its own, a child of either. (Its span
    // ended before order.paid's publish began, so it was exported with or before it.)
    const captures = trace.filter((span) => span.name === 'effect payment-capture' && span.service === 'order-service')
    expect(captures.length, traceTree(trace)).toBeLessThanOrEqual(1)
    const capture = captures[0] ?? authorize
    if (captures.length === 1) expect([reserved.spanId, authorize.spanId], traceTree(trace)).toContain(capture.parentSpanId)
    const publishPaid = only(trace, 'publish order.paid', 'order-service')
    expectChild(publishPaid, capture)
    const paid = only(trace, 'process order.paid', 'notify-service')
    expectChild(paid, publishPaid)
    expect(paid.attributes).toMatchObject({
      'marketmesh.consumer': 'notify-service',
      'marketmesh.event_type': 'order.paid',
      'marketmesh.order_id': order.id
    })

    // What notify-service does for it: the mails (buyer's and seller's), the print job and the
    // confirmation over SSE, and the webhook (whose request carries no trace context: the receiver is
    // someone else's system, and our trace ids are none of its business).
    const mails = trace.filter((span) => span.name === 'effect mail')
    expect(mails).toHaveLength(2)
    for (const mail of mails) expectChild(mail, paid)
    const printJob = only(trace, 'sse print.job', 'notify-service')
    expectChild(printJob, paid)
    expect(printJob.attributes['marketmesh.streams']).toBe(1)
    expectChild(only(trace, 'sse order.paid', 'notify-service'), paid)
    const webhook = only(trace, 'webhook order.paid', 'notify-service')
    expectChild(webhook, paid)
    expect(webhook.attributes).toMatchObject({ 'http.response.status_code': 204, 'marketmesh.attempt': 1 })
    const [delivered] = webhooks.at('/orders')
    expect(delivered.headers).not.toHaveProperty('traceparent')

    // Every span of the checkout is in this one trace: none of the chain started a trace of its own.
    const names = new Set(chain.map((span) => span.name))
    const elsewhere = otlp.spans.filter(
      (span) => span.traceId !== request.traceId && names.has(span.name) && span.attributes['marketmesh.order_id'] === order.id
    )
    expect(elsewhere).toEqual([])

    // The services' log lines within a span name it.
    const logLines = mesh.instances.order[0]
      .output()
      .split('\n')
      .filter((line) => line.includes('"msg":"request"') && line.includes('"url":"/checkouts"'))
    expect(logLines.map((line) => JSON.parse(line))).toContainEqual(expect.objectContaining({ trace_id: request.traceId, span_id: request.spanId }))
  }, 120_000)

  it('traces the payout in the delivery’s trace: the request, the escrow released, the transfer to the seller', async () => {
    expect(paidOrderId, 'the checkout test’s order').toBeDefined()
    await seller.orders.patch(paidOrderId!, { status: 'shipped', trackingNumber: `TRACK-${run}` })
    await buyer.orders.patch(paidOrderId!, { status: 'delivered' })
    await waitFor(async () => (await seller.payouts.find({ query: { orderId: paidOrderId!, status: 'paid' } })).data[0], {
      what: 'the payout paid',
      timeoutMs: 30_000
    })
    const transfer = await waitFor(() => otlp.spans.find((span) => span.name === 'effect payout-transfer'), { what: 'the transfer span' })
    const trace = await waitFor(
      () => {
        const spans = otlp.trace(transfer.traceId)
        const names = new Set(spans.map((span) => `${span.name} [${span.service}]`))
        // Each span asserted below: a publish span ends at the broker's confirm, which may come
        // after its consumer's span was exported.
        const expected = [
          'PATCH /orders/:id [order-service]',
          'publish order.delivered [order-service]',
          'process order.delivered [catalog-service]',
          'effect order-release-escrow [order-service]',
          'publish payout.paid [order-service]',
          'process payout.paid [notify-service]'
        ]
        return expected.every((name) => names.has(name)) && spans
      },
      { what: 'the delivery’s trace exported', timeoutMs: 30_000 }
    )
    const delivered = only(trace, 'PATCH /orders/:id', 'order-service')
    expect(delivered).toMatchObject({ parentSpanId: '', kind: 2 })
    const release = only(trace, 'effect order-release-escrow', 'order-service')
    expectChild(release, delivered)
    expect(release.attributes).toMatchObject({ 'marketmesh.side_effect': 'order-release-escrow', 'marketmesh.order_id': paidOrderId })
    expectChild(transfer, release)
    expect(transfer).toMatchObject({ service: 'order-service' })
    expect(transfer.attributes).toMatchObject({ 'marketmesh.side_effect': 'payout-transfer', 'marketmesh.order_id': paidOrderId })
    // The seller is told by notify-service, in the same trace.
    const publishPaidOut = only(trace, 'publish payout.paid', 'order-service')
    expectChild(publishPaidOut, transfer)
    expectChild(only(trace, 'process payout.paid', 'notify-service'), publishPaidOut)
    const publishDelivered = only(trace, 'publish order.delivered', 'order-service')
    expectChild(publishDelivered, delivered)
    expectChild(only(trace, 'process order.delivered', 'catalog-service'), publishDelivered)
    console.log(`the delivery's trace, with the payout (PostgreSQL queries not shown):\n${traceTree(trace.filter((span) => !isQuery(span)))}`)
  }, 120_000)

  it('traces user-service too: a sign-up is one trace, from its request to the three services that consume user.registered', async () => {
    // The checkout has no part in user-service; the sign-ups of beforeAll do, each a trace of its own.
    const signUp = await waitFor(() => otlp.spans.find((span) => span.name === 'POST /users' && span.service === 'user-service'), {
      what: 'a sign-up request span'
    })
    const consumers = ['catalog-service', 'order-service', 'notify-service']
    const trace = await waitFor(
      () => {
        const spans = otlp.trace(signUp.traceId)
        const published = spans.some((span) => span.name === 'publish user.registered')
        return (
          published &&
          consumers.every((service) => spans.some((span) => span.name === 'process user.registered' && span.service === service)) &&
          spans
        )
      },
      { what: 'the sign-up’s trace exported', timeoutMs: 30_000 }
    )
    expect(signUp).toMatchObject({ parentSpanId: '', kind: 2 })
    const publish = only(trace, 'publish user.registered', 'user-service')
    expectChild(publish, signUp)
    for (const service of consumers) {
      const handled = only(trace, 'process user.registered', service)
      expectChild(handled, publish)
      expect(handled.attributes).toMatchObject({ 'marketmesh.consumer': service, 'marketmesh.event_type': 'user.registered' })
    }
  })

  it('refuses to start with a sampler it does not know, naming the variable', async () => {
    const { env } = meshEnvironment('tracing_sampler', { env: { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_TRACES_SAMPLER: 'sometimes' } })
    const refused = await startServiceProcess('order-service', env.order).then(
      (started) => {
        started.child.kill('SIGKILL')
        return ''
      },
      (error: Error) => error.message
    )
    expect(refused).toContain("order-service: OTEL_TRACES_SAMPLER: 'sometimes' is none of always_on, always_off")
    expect(refused).not.toMatch(/\n\s+at /)
  })

  it('traces no probe or scrape', async () => {
    for (const name of ['order', 'notify'] as const) {
      expect((await fetch(`${mesh.urls[name]}/ready`)).status).toBe(200)
      expect((await fetch(`${mesh.opsUrls[name]}/metrics`)).status).toBe(200)
    }
    // Well past the services' export delay (OTEL_BSP_SCHEDULE_DELAY).
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    expect(otlp.spans.filter((span) => span.attributes['http.route'] === '/ready' || /\/(ready|health|metrics)\b/.test(span.name))).toEqual([])
  })
})
