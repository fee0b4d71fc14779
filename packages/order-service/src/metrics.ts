import { Counter, Histogram } from 'prom-client'
import { statusCountGauge, type ServiceApplication } from '@marketmesh/shared'

/**
 * order-service's own metrics, beside the kit's HTTP and event metrics (checkout latency is
 * `http_request_duration_seconds{route="/checkouts"}`):
 *   orders{status}                                   orders in each status, read at scrape
 *   payouts{status}                                  sellers' payouts in each status (failed: an alert), read at scrape
 *   payment_provider_calls_total{provider,operation,result}
 *   order_saga_step_seconds{step}                    from the checkout to paid / cancelled / rejected
 */
export const orderMetrics = (app: ServiceApplication) => {
  const registers = [app.get('metrics')]
  statusCountGauge(app, { name: 'orders', help: 'Orders by status', table: 'orders' })
  statusCountGauge(app, {
    name: 'payouts',
    help: 'Payouts to sellers by status',
    table: 'payouts',
    statuses: ['pending', 'paid', 'failed', 'reversed']
  })
  app.set('orderMetrics', {
    providerCalls: new Counter({
      name: 'payment_provider_calls_total',
      help: 'Calls to payment providers by outcome',
      labelNames: ['provider', 'operation', 'result'],
      registers
    }),
    sagaStep: new Histogram({
      name: 'order_saga_step_seconds',
      help: 'Time from an order’s checkout to a step of its saga',
      labelNames: ['step'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers
    })
  })
}

export type OrderMetrics = {
  providerCalls: Counter<'provider' | 'operation' | 'result'>
  sagaStep: Histogram<'step'>
}

declare module '@marketmesh/shared' {
  interface ServiceConfiguration {
    orderMetrics: OrderMetrics
  }
}
