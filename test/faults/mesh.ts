import { MESH_SERVICES, meshEnvironment, startMesh } from '@marketmesh/test-support/mesh'
import { freePorts, type PrivateServer } from './private-servers'

// Short enough that a fault test settles in seconds, long enough to outlast every outage it makes:
// a mail whose attempts all fell inside an outage would be lost to the test.
const SIDE_EFFECT_RETRY_DELAYS_MS = '200,500,1000,2000,4000,8000,15000,30000'
// A side effect claimed by a process that was killed runs again after this.
const SIDE_EFFECT_LEASE_MS = '5000'

/**
 * The four services as processes on the private PostgreSQL and RabbitMQ, each on fixed ports so
 * that a killed and restarted one answers at the same URLs, as behind a load balancer.
 * order-service pays with the `test` provider and with Stripe, whose API is `stripe` (the local
 * Stripe-compatible server).
 */
export const startFaultMesh = async ({
  postgres,
  rabbitmq,
  smtpUrl,
  stripe
}: {
  postgres: PrivateServer
  rabbitmq: PrivateServer
  smtpUrl: string
  stripe: { url: string; webhookSecret: string }
}) => {
  // A public port and an ops port (its /metrics) each.
  const ports = await freePorts(2 * MESH_SERVICES.length)
  const environment = meshEnvironment('faults', {
    servers: { postgresUrl: postgres.url, amqpUrl: rabbitmq.url },
    env: {
      EVENT_RETRY_DELAYS_MS: '200,400,800',
      SIDE_EFFECT_RETRY_DELAYS_MS,
      SIDE_EFFECT_LEASE_MS,
      SMTP_URL: smtpUrl,
      // Twenty buyers sign in at once from this one address: more than the default allows in parallel.
      LOGIN_RATE_LIMIT_PER_IP: '10000',
      // A claim whose device is kept waiting by a fault (its ack retried until notify-service is back)
      // must not turn `unconfirmed` on a slow machine: that is the seller's case, not a fault's.
      PRINT_CONFIRM_TIMEOUT: '10m',
      // Printers come back within a few seconds of a restart, not the production default's up to 11.
      STREAM_RETRY: '1s',
      STREAM_RETRY_JITTER: '1s',
      // The private server allows 300 connections: the services' default pools, as in production.
      DATABASE_POOL_MAX: '10'
    },
    envOf: Object.fromEntries(
      MESH_SERVICES.map((name, index) => [
        name,
        {
          PORT: String(ports[2 * index]),
          OPS_PORT: String(ports[2 * index + 1]),
          ...(name === 'order' && { STRIPE_SECRET_KEY: 'sk_test_faults', STRIPE_WEBHOOK_SECRET: stripe.webhookSecret, STRIPE_API_URL: stripe.url })
        }
      ])
    )
  })
  return startMesh(environment)
}
