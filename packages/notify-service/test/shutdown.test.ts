import { afterAll, describe, expect, it } from 'vitest'
import { cleanUp, isolatedEnvironment, startServiceProcess, waitFor, type ServiceProcess } from '@marketmesh/test-support'
import { accessToken } from '@marketmesh/test-support/tokens'
import { buyer } from './helpers'

describe('notify-service as a process', () => {
  const environment = isolatedEnvironment('notify_shutdown')
  let service: ServiceProcess | undefined
  afterAll(async () => {
    service?.child.kill('SIGKILL')
    await cleanUp({ prefix: environment.AMQP_PREFIX, databases: [environment.DATABASE_URL] })
  })

  it('keeps a ?token= out of its logs, ends its open streams on SIGTERM and exits 0 at once, not at the shutdown timeout', async () => {
    service = await startServiceProcess('notify-service', { ...environment, SHUTDOWN_TIMEOUT_MS: '60000' })
    const token = accessToken(buyer())
    const response = await fetch(`${service.url}/stream?token=${token}`)
    expect(response.status).toBe(200)
    const reader = response.body!.getReader()
    await reader.read()
    await waitFor(() => service!.output().includes('/stream?token=***'), { what: 'the request logged' })
    expect(service.output()).not.toContain(token)
    service.child.kill('SIGTERM')
    // At the shutdown timeout it would exit 1 ("shutdown took too long"), and only after a minute.
    expect(await service.exited).toBe(0)
    expect(service.output()).not.toContain('shutdown took too long')
    expect((await reader.read()).done).toBe(true)
  })
})
