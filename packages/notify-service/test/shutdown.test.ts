import { afterAll, describe, expect, it } from 'vitest'
import { cleanUp, isolatedEnvironment, startServiceProcess, type ServiceProcess } from '../../../test/support'
import { accessToken } from '../../../test/support/tokens'
import { buyer } from './helpers'

describe('notify-service as a process', () => {
  const environment = isolatedEnvironment('notify_shutdown')
  let service: ServiceProcess | undefined
  afterAll(async () => {
    service?.child.kill('SIGKILL')
    await cleanUp({ prefix: environment.AMQP_PREFIX, databases: [environment.DATABASE_URL] })
  })

  it('ends its open streams on SIGTERM and exits 0 at once, not at the shutdown timeout', async () => {
    service = await startServiceProcess('notify-service', { ...environment, SHUTDOWN_TIMEOUT_MS: '8000' })
    const response = await fetch(`${service.url}/stream`, { headers: { Authorization: `Bearer ${accessToken(buyer())}` } })
    expect(response.status).toBe(200)
    const reader = response.body!.getReader()
    await reader.read()
    const started = Date.now()
    service.child.kill('SIGTERM')
    expect(await service.exited).toBe(0)
    expect(Date.now() - started).toBeLessThan(3_000)
    expect((await reader.read()).done).toBe(true)
  })
})
