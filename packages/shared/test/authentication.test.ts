import type { Server } from 'node:http'
import jwt from 'jsonwebtoken'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { authenticated, createServiceApp, listen, serviceSettingsSchema, type ServiceApplication } from '../src'
import { cleanUp, isolatedSettings } from '../../../test/support'

describe('stateless JWT verification', () => {
  const settings = isolatedSettings('auth')
  let app: ServiceApplication
  let server: Server
  let url: string

  beforeAll(async () => {
    app = createServiceApp({
      name: 'auth-test',
      root: __dirname,
      settingsSchema: serviceSettingsSchema({}),
      overrides: { ...settings, port: 0 },
      migrations: {},
      services: (app) => {
        app.use('whoami', { async find(params) { return params.principal } }, { methods: ['find'] })
        app.service('whoami').hooks({ before: { all: [authenticated()] } })
      }
    })
    server = await listen(app, 0)
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  })

  afterAll(async () => {
    server.close()
    await app.teardown()
    await cleanUp({ databases: [settings.postgresql.connection] })
  })

  const sign = (payload: Record<string, unknown>, options: { secret?: string; expiresIn?: number; aud?: string } = {}) => {
    const settings = app.get('jwt')
    return jwt.sign(payload, options.secret ?? settings.secret, {
      algorithm: 'HS256',
      audience: options.aud ?? settings.audience,
      issuer: settings.issuer,
      expiresIn: options.expiresIn ?? 60,
      header: { typ: 'access', alg: 'HS256' }
    })
  }
  const whoami = (token?: string) =>
    fetch(`${url}/whoami`, { headers: token ? { Authorization: `Bearer ${token}` } : {} })

  it("accepts user-service's token format and makes the caller params.principal", async () => {
    const response = await whoami(sign({ sub: 'seller-1', role: 'seller', sellerId: 'seller-1' }))
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ id: 'seller-1', role: 'seller', sellerId: 'seller-1' })
  })

  it.each([
    ['no token', undefined],
    ['another secret', () => sign({ sub: 'u', role: 'buyer' }, { secret: 'x'.repeat(40) })],
    ['an expired token', () => sign({ sub: 'u', role: 'buyer', iat: Math.floor(Date.now() / 1000) - 120 })],
    ['another audience', () => sign({ sub: 'u', role: 'buyer' }, { aud: 'https://elsewhere' })],
    ['no role', () => sign({ sub: 'u' })],
    ['an unknown role', () => sign({ sub: 'u', role: 'root' })]
  ])('refuses %s with 401', async (_case, token) => {
    const response = await whoami(typeof token === 'function' ? token() : token)
    expect(response.status).toBe(401)
  })

  it('has no login endpoint: only user-service issues tokens', async () => {
    const response = await fetch(`${url}/authentication`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ strategy: 'jwt', accessToken: sign({ sub: 'u', role: 'admin' }) })
    })
    expect(response.status).toBe(405)
  })
})
