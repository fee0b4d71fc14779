import { statusCountGauge, type ServiceApplication } from '@marketmesh/shared'

/** `webhook_deliveries{status}`: the deliveries still to be made and those given up, read at each scrape. */
export const webhookDeliveryMetrics = (app: ServiceApplication) =>
  void statusCountGauge(app, {
    name: 'webhook_deliveries',
    help: 'Webhook deliveries pending (first attempt or a retry to come) and failed (given up after their last retry)',
    table: 'webhook_deliveries',
    statuses: ['pending', 'failed']
  })
