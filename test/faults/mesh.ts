import { startServiceProcess, type ServiceProcess } from '../support'
import { freePorts, type PrivateServer } from './private-servers'

export const SERVICES = ['user-service', 'catalog-service', 'order-service', 'notify-service'] as const
export type ServiceName = (typeof SERVICES)[number]

// Short enough that a fault test settles in seconds, long enough to outlast every outage it makes:
// a mail whose attempts all fell inside an outage would be lost to the test.
const SIDE_EFFECT_RETRY_DELAYS_MS = '200,500,1000,2000,4000,8000,15000,30000'
// A side effect claimed by a process that was killed runs again after this.
const SIDE_EFFECT_LEASE_MS = '5000'

/**
 * The four services as processes on the private PostgreSQL and RabbitMQ, each on a fixed port so
 * that a killed and restarted one answers at the same URL, as behind a load balancer.
 */
export const startMesh = async ({ postgres, rabbitmq, smtpUrl }: { postgres: PrivateServer; rabbitmq: PrivateServer; smtpUrl: string }) => {
  const ports = await freePorts(SERVICES.length)
  const envOf = (name: ServiceName, index: number): Record<string, string> => ({
    PORT: String(ports[index]),
    DATABASE_URL: `${postgres.url}/marketmesh_${name.replace('-service', '')}`,
    AMQP_URL: rabbitmq.url,
    AMQP_PREFIX: 'mmfault',
    EVENT_RETRY_DELAYS_MS: '200,400,800',
    SIDE_EFFECT_RETRY_DELAYS_MS,
    SIDE_EFFECT_LEASE_MS,
    SMTP_URL: smtpUrl,
    // Twenty buyers sign in at once from this one address: more than the default allows in parallel.
    LOGIN_RATE_LIMIT_PER_IP: '10000',
    LOG_LEVEL: 'info'
  })
  const running = new Map<ServiceName, ServiceProcess>()
  const start = async (name: ServiceName) => {
    // A machine busy with the other scenarios' work (and other test runs) can take its time.
    running.set(name, await startServiceProcess(name, envOf(name, SERVICES.indexOf(name)), { startTimeoutMs: 120_000 }))
  }
  await Promise.all(SERVICES.map(start))
  const url = (name: ServiceName) => `http://127.0.0.1:${ports[SERVICES.indexOf(name)]}`

  return {
    url,
    envOf: (name: ServiceName) => envOf(name, SERVICES.indexOf(name)),
    /** What the service's current process has logged. */
    output: (name: ServiceName) => running.get(name)?.output() ?? '',
    /** Kills the service's process without warning (SIGKILL) and waits until it is gone. */
    kill: async (name: ServiceName) => {
      const service = running.get(name)!
      service.child.kill('SIGKILL')
      await service.exited
      running.delete(name)
    },
    start,
    stop: async () => {
      const services = [...running.values()]
      for (const service of services) service.child.kill('SIGTERM')
      await Promise.all(services.map((service) => service.exited))
      running.clear()
    }
  }
}

export type Mesh = Awaited<ReturnType<typeof startMesh>>
