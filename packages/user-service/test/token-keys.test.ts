import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  baseDefaults,
  DEVELOPMENT_PUBLIC_KEY,
  DEVELOPMENT_SIGNING_KEY,
  generateSigningKey,
  listen,
  publicPartOf,
  type PrivateJwk
} from '@marketmesh/shared'
import { createApp } from '../src/app'
import { tokenKeysFrom } from '../src/authentication/token-keys'
import { cleanUp, isolatedSettings } from '@marketmesh/test-support'
import { startVerifier } from '@marketmesh/test-support/verifier'
import { httpClient, startUserService, type UserServiceUnderTest } from './helpers'

const headerOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString('utf8'))

describe('GET /.well-known/jwks.json', () => {
  let service: UserServiceUnderTest
  beforeAll(async () => {
    service = await startUserService('jwks')
  })
  afterAll(() => service.stop())

  it('serves the public part of the signing key only, for anyone, cacheable', async () => {
    const response = await service.http('GET', '/.well-known/jwks.json')
    expect(response.status).toBe(200)
    expect(response.headers.get('cache-control')).toBe('public, max-age=300')
    expect(response.body).toEqual({ keys: [DEVELOPMENT_PUBLIC_KEY] })
    expect(response.body.keys[0]).not.toHaveProperty('d')
    expect(JSON.stringify(response.body)).not.toContain(DEVELOPMENT_SIGNING_KEY.d)
  })

  it('signs access tokens with that key, named by its kid', async () => {
    const { accessToken } = await service.signUp('buyer')
    expect(headerOf(accessToken)).toEqual({ alg: 'EdDSA', kid: DEVELOPMENT_SIGNING_KEY.kid, typ: 'access' })
  })
})

describe('key rotation', () => {
  // One database and prefix for every phase: the same users, as across the deploys of a rotation.
  const settings = isolatedSettings('rotation')
  afterAll(() => cleanUp({ prefix: settings.amqp.prefix, databases: [settings.postgresql.connection] }))

  const deploy = async (keys: { signingKey: PrivateJwk; previous?: PrivateJwk[] }) => {
    const app = createApp({
      ...settings,
      signingKey: keys.signingKey,
      ...(keys.previous ? { jwt: { publicKeys: { keys: keys.previous.map(publicPartOf) } } } : {})
    })
    const server = await listen(app, 0)
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    return {
      url,
      http: httpClient(url),
      stop: async () => {
        await app.teardown()
        server.close()
      }
    }
  }

  it('signs with the active key, accepts and publishes the previous one while it is listed, and refuses its tokens once removed', async () => {
    const [previous, active] = await Promise.all([generateSigningKey(), generateSigningKey()])
    const credentials = { email: 'rotating@example.com', password: 'correct horse battery' }
    const login = async (http: ReturnType<typeof httpClient>) =>
      (await http('POST', '/authentication', { body: { strategy: 'local', ...credentials } })).body.accessToken as string

    const before = await deploy({ signingKey: previous })
    const user = (await before.http('POST', '/users', { body: { ...credentials, name: 'Rota', role: 'buyer' } })).body
    const oldToken = await login(before.http)
    expect(headerOf(oldToken).kid).toBe(previous.kid)
    await before.stop()

    const during = await deploy({ signingKey: active, previous: [previous] })
    const newToken = await login(during.http)
    expect(headerOf(newToken).kid).toBe(active.kid)
    const published = (await during.http('GET', '/.well-known/jwks.json')).body
    expect(published).toEqual({ keys: [publicPartOf(active), publicPartOf(previous)] })
    expect(JSON.stringify(published)).not.toMatch(/"d"/)
    for (const token of [oldToken, newToken]) {
      expect((await during.http('GET', `/users/${user.id}`, { token })).status).toBe(200)
    }
    // Another service that reads the published set verifies both too.
    const verifier = await startVerifier({ jwksUrl: `${during.url}/.well-known/jwks.json` })
    try {
      for (const token of [oldToken, newToken]) expect((await verifier.whoami(token)).status).toBe(200)
    } finally {
      await verifier.stop()
    }
    await during.stop()

    const after = await deploy({ signingKey: active })
    try {
      expect((await after.http('GET', '/.well-known/jwks.json')).body).toEqual({ keys: [publicPartOf(active)] })
      const refused = await after.http('GET', `/users/${user.id}`, { token: oldToken })
      expect(refused.status).toBe(401)
      expect(refused.body.message).toBe('Access token signed by an unknown key')
      expect((await after.http('GET', `/users/${user.id}`, { token: newToken })).status).toBe(200)
    } finally {
      await after.stop()
    }
  })
})

describe("user-service's keys", () => {
  const previousNodeEnv = process.env.NODE_ENV
  afterEach(() => {
    process.env.NODE_ENV = previousNodeEnv
  })

  it('are the development key when JWT_PRIVATE_KEY is not set, refused in production in one line naming the setting', () => {
    expect(tokenKeysFrom({ jwt: baseDefaults.jwt })).toEqual({ signingKey: DEVELOPMENT_SIGNING_KEY, publicKeys: [DEVELOPMENT_PUBLIC_KEY] })
    process.env.NODE_ENV = 'production'
    expect(() => tokenKeysFrom({ jwt: baseDefaults.jwt })).toThrow(
      /^setting "signingKey" \(env JWT_PRIVATE_KEY\): the development key is refused in production$/
    )
  })

  it('refuse a key set to read from a URL: user-service is where the set comes from', async () => {
    const [signingKey, jwt] = [await generateSigningKey(), { ...baseDefaults.jwt, jwksUrl: 'http://user-service:3031/.well-known/jwks.json' }]
    expect(() => tokenKeysFrom({ signingKey, jwt })).toThrow(/setting "jwt.jwksUrl" \(env JWT_JWKS_URL\)/)
  })
})
