import amqplib from 'amqplib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { consumerQueueNames } from '@marketmesh/events'
import { AMQP, cleanUp, isolatedEnvironment, startServiceProcess, waitFor, type ServiceProcess } from '@marketmesh/test-support'
import { cli } from './support/cli'

// The four services as processes, each on its own database, on one broker prefix; the CLI finds
// them through the variables `npm start` sets (MARKETMESH_<SERVICE>_URL, …_DATABASE_URL).
const NAMES = ['user', 'catalog', 'order', 'notify'] as const
const prefix = isolatedEnvironment('cli_status').AMQP_PREFIX
const envs = NAMES.map((name) => ({ ...isolatedEnvironment(`cli_status_${name}`), AMQP_PREFIX: prefix }))
const services: Record<string, ServiceProcess> = {}
const cliEnv: Record<string, string> = { AMQP_URL: AMQP, AMQP_PREFIX: prefix }

const consumers = async (service: string) => {
  const connection = await amqplib.connect(AMQP)
  try {
    const channel = await connection.createChannel()
    return (await channel.checkQueue(consumerQueueNames(prefix, service).queue)).consumerCount
  } finally {
    await connection.close()
  }
}

beforeAll(async () => {
  // One after the other: four starting at once on a busy machine take longer than one's start timeout.
  for (const [index, name] of NAMES.entries()) {
    const service = await startServiceProcess(`${name}-service`, envs[index], { startTimeoutMs: 90_000 })
    services[name] = service
    cliEnv[`MARKETMESH_${name.toUpperCase()}_URL`] = service.url
    cliEnv[`MARKETMESH_${name.toUpperCase()}_DATABASE_URL`] = envs[index].DATABASE_URL
    await waitFor(async () => (await fetch(`${service.url}/ready`)).status === 200, { what: `${name}-service ready`, timeoutMs: 60_000 })
  }
}, 400_000)

afterAll(async () => {
  for (const service of Object.values(services)) service.child.kill('SIGTERM')
  await Promise.all(Object.values(services).map((service) => service.exited))
  await cleanUp({ prefix, databases: envs.map((env) => env.DATABASE_URL) })
})

describe('marketmesh status and outbox', () => {
  it('status shows every service ready with its queue, consumers, dead letters and outbox, and exits 0', async () => {
    for (const name of ['catalog-service', 'order-service', 'notify-service']) {
      await waitFor(async () => (await consumers(name)) > 0, { what: `${name} consuming`, timeoutMs: 30_000 })
    }
    const { code, stdout } = await cli(['status'], cliEnv)
    expect(code).toBe(0)
    expect(stdout).toMatch(/^service +\/ready +queue +consumers +dead letters +outbox unsent$/m)
    expect(stdout).toMatch(/^user-service +ready +- +- +- +\d+$/m)
    for (const name of ['catalog-service', 'order-service', 'notify-service'])
      expect(stdout).toMatch(new RegExp(`^${name} +ready +\\d+ +[1-9]\\d* +0 +\\d+$`, 'm'))
    expect(stdout).toContain('\nhealthy')

    const json = JSON.parse((await cli(['status', '--json'], cliEnv)).stdout)
    expect(json).toMatchObject({ healthy: true, problems: [] })
    expect(json.services.map((service: { ready: boolean }) => service.ready)).toEqual([true, true, true, true])
  }, 120_000)

  it("outbox reads each service's database: unsent rows, the oldest, and what was sent in the last minute", async () => {
    const registered = await fetch(`${services.user.url}/users`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: 'status@example.com', password: 'a long password', name: 'Status', role: 'buyer' })
    })
    expect(registered.status).toBe(201)
    const sent = async () => {
      const { code, stdout } = await cli(['outbox', '--json'], cliEnv)
      expect(code).toBe(0)
      return stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line))
    }
    const rows = await waitFor(
      async () => {
        const backlogs = await sent()
        return backlogs[0].sentLastMinute >= 1 && backlogs
      },
      { what: 'user.registered published', timeoutMs: 30_000 }
    )
    expect(rows.map((row: { service: string }) => row.service)).toEqual(['user-service', 'catalog-service', 'order-service', 'notify-service'])
    expect(rows[0]).toMatchObject({ service: 'user-service', unsent: 0, oldestUnsentAgeSeconds: null })
    for (const row of rows) expect(row).toEqual(expect.objectContaining({ unsent: expect.any(Number), sentLastMinute: expect.any(Number) }))

    const text = await cli(['outbox'], cliEnv)
    expect(text.stdout).toMatch(/^user-service +0 +- +[1-9]\d*$/m)

    const unreachable = await cli(['outbox'], { ...cliEnv, MARKETMESH_ORDER_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/marketmesh_order' })
    expect(unreachable.code).toBe(1)
    expect(unreachable.stderr).toContain(
      "order-service's database at postgres://postgres@127.0.0.1:1/marketmesh_order (set by --order-database-url or MARKETMESH_ORDER_DATABASE_URL)"
    )
  }, 120_000)

  it('status exits 1 with a service down, naming it and its queue left without a consumer', async () => {
    services.catalog.child.kill('SIGTERM')
    await services.catalog.exited
    const { code, stdout } = await cli(['status'], cliEnv)
    expect(code).toBe(1)
    expect(stdout).toMatch(/^catalog-service +NOT READY +\d+ +0 +0 +\d+$/m)
    expect(stdout).toContain('UNHEALTHY')
    expect(stdout).toContain('catalog-service is not ready: no answer at')
    expect(stdout).toContain(`nothing consumes ${consumerQueueNames(prefix, 'catalog-service').queue}`)
    expect(stdout).toMatch(/^order-service +ready/m)
  })
})
