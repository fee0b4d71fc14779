import { randomBytes } from 'node:crypto'
import { afterAll, describe, expect, it } from 'vitest'
import { DEVELOPMENT_SIGNING_KEY, generateSigningKey } from '@marketmesh/shared'
import { cleanUp, isolatedEnvironment, startServiceProcess, type ServiceProcess } from '@marketmesh/test-support'
import { accessToken } from '@marketmesh/test-support/tokens'
import { httpClient } from './helpers'

const production = { NODE_ENV: 'production' }
// What else a production catalog-service refuses to start without: its own media signing key, and a
// malware scanner unless scanning is off (images are not what this test is about).
const catalogProduction = { ...production, MEDIA_SIGNING_KEY: randomBytes(32).toString('hex'), MEDIA_SCAN: 'off' }

describe('access tokens across processes, in production', () => {
  const started: Array<{ service: ServiceProcess; env: Record<string, string> }> = []
  const start = async (name: string, env: Record<string, string>) => {
    const service = await startServiceProcess(name, env)
    started.push({ service, env })
    return service
  }
  afterAll(async () => {
    for (const { service } of started) service.child.kill('SIGKILL')
    for (const { env } of started) await cleanUp({ prefix: env.AMQP_PREFIX, databases: [env.DATABASE_URL] })
  })

  it("catalog-services that hold only the public keys, in JWT_PUBLIC_KEYS or from JWT_JWKS_URL, verify user-service's tokens", async () => {
    const signingKey = await generateSigningKey()
    const users = await start('user-service', { ...isolatedEnvironment('tokens_user'), ...production, JWT_PRIVATE_KEY: JSON.stringify(signingKey) })
    const http = httpClient(users.url)
    const seller = { email: 'keys@example.com', password: 'correct horse battery' }
    const { id } = (await http('POST', '/users', { body: { ...seller, name: 'Kay', role: 'seller', shopName: 'Keys' } })).body
    const { accessToken: token } = (await http('POST', '/authentication', { body: { strategy: 'local', ...seller } })).body
    const jwks = (await http('GET', '/.well-known/jwks.json')).body

    const catalogs = await Promise.all([
      start('catalog-service', { ...isolatedEnvironment('tokens_static'), ...catalogProduction, JWT_PUBLIC_KEYS: JSON.stringify(jwks) }),
      start('catalog-service', { ...isolatedEnvironment('tokens_remote'), ...catalogProduction, JWT_JWKS_URL: `${users.url}/.well-known/jwks.json` })
    ])
    const product = { title: 'Key hook', price: 1_200, currency: 'EUR', stock: 3 }
    for (const catalog of catalogs) {
      const created = await httpClient(catalog.url)('POST', '/products', { token, body: product })
      expect(created.status).toBe(201)
      expect(created.body.sellerId).toBe(id)
      // A token of the development key, which anyone can sign, opens nothing there.
      const forged = accessToken({ id, role: 'seller', sellerId: id })
      expect((await httpClient(catalog.url)('POST', '/products', { token: forged, body: product })).status).toBe(401)
    }
  })
})

describe('a production start with the development key', () => {
  it.each([
    ['user-service', 'no JWT_PRIVATE_KEY', {}, 'setting "signingKey" (env JWT_PRIVATE_KEY)'],
    [
      'user-service',
      'the development key as JWT_PRIVATE_KEY',
      { JWT_PRIVATE_KEY: JSON.stringify(DEVELOPMENT_SIGNING_KEY) },
      'setting "signingKey" (env JWT_PRIVATE_KEY)'
    ],
    ['catalog-service', 'neither JWT_PUBLIC_KEYS nor JWT_JWKS_URL', {}, 'setting "jwt.publicKeys" (env JWT_PUBLIC_KEYS or JWT_JWKS_URL)']
  ])('stops %s given %s, in one line naming the setting', async (service, _case, env, setting) => {
    const outcome = await startServiceProcess(service, { ...isolatedEnvironment('tokens_refused'), ...production, ...env }).then(
      (started) => {
        started.child.kill('SIGKILL')
        return 'it started'
      },
      // The last line: node-config warns before it that there is no config/production.json.
      (error: Error) => error.message.trim().split('\n').pop()
    )
    expect(outcome).toBe(`marketmesh: ${setting}: the development key is refused in production`)
  })
})
