import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanUp, isolatedEnvironment, startServiceProcess, type ServiceProcess } from '@marketmesh/test-support'
import { httpClient } from './helpers'

const environment = isolatedEnvironment('user_instances')
let instances: ServiceProcess[] = []

beforeAll(async () => {
  // One after the other: the first creates the database and migrates it.
  for (let started = 0; started < 2; started++) instances.push(await startServiceProcess('user-service', environment))
})

afterAll(async () => {
  for (const { child, exited } of instances) {
    child.kill('SIGTERM')
    await exited
  }
  instances = []
  await cleanUp({ prefix: environment.AMQP_PREFIX, databases: [environment.DATABASE_URL] })
})

describe('two instances of user-service on one database', () => {
  it('share one login limit: 5 failures across both, then 429 on either', async () => {
    const [first, second] = instances.map(({ url }) => httpClient(url))
    expect(instances[0].url).not.toBe(instances[1].url)
    const email = 'shared-limit@example.com'
    const password = 'correct horse battery'
    expect((await first('POST', '/users', { body: { email, password, name: 'Shared', role: 'buyer' } })).status).toBe(201)

    const login = (at: typeof first, guess: string) => at('POST', '/authentication', { body: { strategy: 'local', email, password: guess } })
    for (const at of [first, second, first, second, first]) expect((await login(at, 'wrong password')).status).toBe(401)
    for (const at of [second, first]) {
      const refused = await login(at, password)
      expect(refused.status).toBe(429)
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
    }
  })
})
