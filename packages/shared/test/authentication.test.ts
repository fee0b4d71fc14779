import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { SignJWT, UnsecuredJWT, base64url } from 'jose'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { baseDefaults, DEVELOPMENT_SIGNING_KEY, durationMs, generateSigningKey, importSigningKey, publicPartOf, type PrivateJwk } from '../src'
import { AccessTokenVerifier } from '../src/tokens/access-token-verifier'
import { startVerifier, type Verifier } from '@marketmesh/test-support/verifier'
import { accessToken } from '@marketmesh/test-support/tokens'

/** The shared secret every service verified HS256 tokens with before the keys; it must open nothing now. */
const OLD_DEVELOPMENT_SECRET = 'marketmesh-development-secret-change-me-0123456789'

const started: Verifier[] = []

/** A service of the kit with one endpoint that answers the caller's principal. */
const startWhoami = async (jwt: Record<string, unknown> = {}) => {
  const verifier = await startVerifier(jwt)
  started.push(verifier)
  return verifier
}

afterAll(async () => {
  for (const verifier of started) await verifier.stop()
})

const claims = { sub: 'u', role: 'buyer' }
const { issuer, audience } = baseDefaults.jwt

/** A token like user-service's in every way but what a case changes. */
const craft = async ({
  key = DEVELOPMENT_SIGNING_KEY,
  header = {},
  payload = claims,
  expiresAt = '15m',
  aud = audience
}: { key?: PrivateJwk; header?: Record<string, unknown>; payload?: Record<string, unknown>; expiresAt?: string | number; aud?: string } = {}) => {
  const { key: privateKey } = await importSigningKey(key)
  // One reading of the clock, as user-service's: `exp - iat` is the lifetime to the second.
  const issuedAt = Math.floor(Date.now() / 1000)
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'access', ...header })
    .setIssuer(issuer)
    .setAudience(aud)
    .setIssuedAt(issuedAt)
    .setExpirationTime(typeof expiresAt === 'number' ? expiresAt : issuedAt + durationMs(expiresAt) / 1000)
    .sign(privateKey)
}

const hmac = (secret: Uint8Array) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', kid: DEVELOPMENT_SIGNING_KEY.kid, typ: 'access' })
    .setIssuer(issuer)
    .setAudience(audience)
    .setExpirationTime('15m')
    .sign(secret)

describe('access token verification (public keys only)', () => {
  let service: Awaited<ReturnType<typeof startWhoami>>
  let strangerKey: PrivateJwk
  beforeAll(async () => {
    service = await startWhoami()
    strangerKey = await generateSigningKey()
  })

  it("accepts user-service's token format and makes the caller params.principal", async () => {
    const response = await service.whoami(accessToken({ id: 'seller-1', role: 'seller', sellerId: 'seller-1' }))
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ id: 'seller-1', role: 'seller', sellerId: 'seller-1' })
    // The cases below change one thing each of this token.
    expect((await service.whoami(await craft())).status).toBe(200)
  })

  it.each([
    ['no token', async () => undefined],
    ['HS256 signed with the old development secret', () => hmac(new TextEncoder().encode(OLD_DEVELOPMENT_SECRET))],
    ["HS256 signed with the public key's bytes (algorithm confusion)", () => hmac(base64url.decode(DEVELOPMENT_SIGNING_KEY.x))],
    ['alg none', async () => new UnsecuredJWT(claims).setIssuer(issuer).setAudience(audience).setExpirationTime('15m').encode()],
    ['an unknown Ed25519 key', () => craft({ key: strangerKey })],
    ["an unknown key that claims the development key's kid", () => craft({ key: strangerKey, header: { kid: DEVELOPMENT_SIGNING_KEY.kid } })],
    ['no kid', () => craft({ header: { kid: undefined } })],
    ['an expired token', () => craft({ expiresAt: Math.floor(Date.now() / 1000) - 1 })],
    ['another audience', () => craft({ aud: 'https://elsewhere' })],
    ['another typ', () => craft({ header: { typ: 'refresh' } })],
    ['no role', () => craft({ payload: { sub: 'u' } })],
    ['an unknown role', () => craft({ payload: { sub: 'u', role: 'root' } })],
    [
      'a tampered payload',
      async () => {
        const [header, , signature] = (await craft()).split('.')
        return [header, base64url.encode(JSON.stringify({ ...claims, role: 'admin', iss: issuer, aud: audience, exp: 2e9 })), signature].join('.')
      }
    ]
  ])('refuses %s with 401', async (_case, token) => {
    const response = await service.whoami(await token())
    expect(response.status).toBe(401)
  })

  const checkToken = (body: unknown) =>
    fetch(`${service.url}/authentication`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })

  it("checks an access token (Feathers' reAuthenticate) and answers its identity, never a new token: only user-service issues tokens", async () => {
    const token = accessToken({ id: 'u', role: 'admin' })
    const response = await checkToken({ strategy: 'jwt', accessToken: token })
    expect(response.status).toBe(201)
    const answer = await response.json()
    expect(answer).toMatchObject({ accessToken: token, principal: { id: 'u', role: 'admin' }, authentication: { strategy: 'jwt' } })
    expect((await checkToken({ strategy: 'jwt', accessToken: await craft({ aud: 'https://elsewhere' }) })).status).toBe(401)
  })

  it("answers DELETE /authentication (Feathers' logout) with the token's identity, and 401 without a token", async () => {
    const token = accessToken({ id: 'u', role: 'buyer' })
    const checked = await fetch(`${service.url}/authentication`, { method: 'DELETE', headers: { Authorization: `Bearer ${token}` } })
    expect(checked.status).toBe(200)
    expect(await checked.json()).toMatchObject({ accessToken: token, principal: { id: 'u', role: 'buyer' } })
    expect((await fetch(`${service.url}/authentication`, { method: 'DELETE' })).status).toBe(401)
    expect((await fetch(`${service.url}/authentication/${randomUUID()}`, { method: 'DELETE' })).status).toBe(401)
  })

  it.each([
    ['a login', { strategy: 'local', email: 'a@example.com', password: 'secret' }, 'strategy'],
    ['no token', { strategy: 'jwt' }, 'accessToken'],
    ['an unknown field', { strategy: 'jwt', accessToken: 'x', admin: true }, 'admin']
  ])('refuses %s with 400 naming the field', async (_case, body, field) => {
    const response = await checkToken(body)
    expect(response.status).toBe(400)
    expect(JSON.stringify(await response.json())).toContain(field)
  })
})

describe('tokens verified once', () => {
  it('are taken again until they expire and never after, each caller with claims of its own; another string is verified afresh', async () => {
    const verifier = new AccessTokenVerifier({ keys: [publicPartOf(DEVELOPMENT_SIGNING_KEY)] }, baseDefaults.jwt)
    await verifier.load()
    const expiresAt = Math.floor(Date.now() / 1000) + 2
    const token = await craft({ expiresAt })
    const first = await verifier.verify(token)
    first.role = 'admin'
    expect(await verifier.verify(token)).toMatchObject({ sub: 'u', role: 'buyer', exp: expiresAt })
    const [header, payload] = token.split('.')
    const forged = `${header}.${payload}.${base64url.encode(new Uint8Array(64))}`
    await expect(verifier.verify(forged)).rejects.toMatchObject({ name: 'NotAuthenticated' })
    await new Promise((resolve) => setTimeout(resolve, expiresAt * 1000 - Date.now() + 50))
    await expect(verifier.verify(token)).rejects.toMatchObject({ name: 'NotAuthenticated' })
  })
})

describe('a verification remembered', () => {
  afterEach(() => vi.useRealTimers())

  /** A JWKS server whose set the test changes, as an operator rotating keys would. */
  const servedKeySet = async (keys: PrivateJwk[]) => {
    const served = { keys }
    const server = createServer((_request, response) => {
      response.setHeader('Content-Type', 'application/json')
      response.end(JSON.stringify({ keys: served.keys.map(publicPartOf) }))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`
    return { served, url, close: () => new Promise((resolve) => server.close(resolve)) }
  }
  const verifierOf = async (url: string) => {
    const verifier = new AccessTokenVerifier({ url }, baseDefaults.jwt)
    await verifier.load()
    return verifier
  }
  const later = (ms: number) => vi.setSystemTime(Date.now() + ms)

  it('lasts a minute at most: a token whose key left the JWKS is refused after it, however far off its exp', async () => {
    const [old, current] = await Promise.all([generateSigningKey(), generateSigningKey()])
    const jwks = await servedKeySet([old])
    try {
      const verifier = await verifierOf(jwks.url)
      const token = await craft({ key: old })
      vi.useFakeTimers({ toFake: ['Date'] })
      await verifier.verify(token)
      jwks.served.keys = [current]
      later(59_000)
      expect(await verifier.verify(token)).toMatchObject({ sub: 'u' })
      later(2_000)
      await expect(verifier.verify(token)).rejects.toMatchObject({ name: 'NotAuthenticated', message: 'Access token signed by an unknown key' })
    } finally {
      await jwks.close()
    }
  })

  it('is forgotten as soon as the set, fetched again, no longer holds its kid', async () => {
    const [old, current] = await Promise.all([generateSigningKey(), generateSigningKey()])
    const jwks = await servedKeySet([old])
    try {
      const verifier = await verifierOf(jwks.url)
      const token = await craft({ key: old })
      vi.useFakeTimers({ toFake: ['Date'] })
      await verifier.verify(token)
      jwks.served.keys = [current]
      // Past jose's 30 s between fetches: a token of the new key has the set fetched again.
      later(31_000)
      expect(await verifier.verify(await craft({ key: current }))).toMatchObject({ sub: 'u' })
      await expect(verifier.verify(token)).rejects.toMatchObject({ name: 'NotAuthenticated', message: 'Access token signed by an unknown key' })
    } finally {
      await jwks.close()
    }
  })
})

describe('a token made to live longer than access tokens do (JWT_EXPIRES_IN)', () => {
  it('is refused although its signature is good, as is one without iat; with a longer lifetime configured it is taken', async () => {
    const verifier = new AccessTokenVerifier({ keys: [publicPartOf(DEVELOPMENT_SIGNING_KEY)] }, baseDefaults.jwt)
    await verifier.load()
    const longLived = await craft({ expiresAt: '16m' })
    await expect(verifier.verify(longLived)).rejects.toMatchObject({
      name: 'NotAuthenticated',
      message: 'Access token lives longer than access tokens may (15m)'
    })
    const { key } = await importSigningKey(DEVELOPMENT_SIGNING_KEY)
    const withoutIssuedAt = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'EdDSA', kid: DEVELOPMENT_SIGNING_KEY.kid, typ: 'access' })
      .setIssuer(issuer)
      .setAudience(audience)
      .setExpirationTime('5m')
      .sign(key)
    await expect(verifier.verify(withoutIssuedAt)).rejects.toMatchObject({ name: 'NotAuthenticated', message: 'missing required "iat" claim' })

    const hourly = new AccessTokenVerifier({ keys: [publicPartOf(DEVELOPMENT_SIGNING_KEY)] }, { ...baseDefaults.jwt, accessTokenExpiresIn: '1h' })
    await hourly.load()
    expect(await hourly.verify(longLived)).toMatchObject({ sub: 'u' })
  })

  it('gets 401 from a service', async () => {
    const service = await startWhoami()
    const response = await service.whoami(accessToken({ id: 'u', role: 'buyer' }, { lifetimeSeconds: 365 * 24 * 3600 }))
    expect(response.status).toBe(401)
    expect(((await response.json()) as { message: string }).message).toBe('Access token lives longer than access tokens may (15m)')
  })
})

describe('a service given only public keys (JWT_PUBLIC_KEYS)', () => {
  it('verifies tokens of every listed key, and no longer the development key', async () => {
    const [current, previous] = await Promise.all([generateSigningKey(), generateSigningKey()])
    const service = await startWhoami({ publicKeys: { keys: [publicPartOf(current), publicPartOf(previous)] } })
    for (const key of [current, previous]) {
      expect((await service.whoami(accessToken({ id: 'u', role: 'buyer' }, { key }))).status).toBe(200)
    }
    expect((await service.whoami(accessToken({ id: 'u', role: 'buyer' }))).status).toBe(401)
  })
})

describe('a service that reads the keys from a JWKS URL (JWT_JWKS_URL)', () => {
  it("verifies with the set it fetches, and answers 503, not 401, while the set can't be fetched", async () => {
    const key = await generateSigningKey()
    const jwks = createServer((_request, response) => {
      response.setHeader('Content-Type', 'application/json')
      response.end(JSON.stringify({ keys: [publicPartOf(key)] }))
    })
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve))
    const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`
    try {
      const service = await startWhoami({ jwksUrl })
      expect((await service.whoami(accessToken({ id: 'u', role: 'buyer' }, { key }))).status).toBe(200)
      expect((await service.whoami(accessToken({ id: 'u', role: 'buyer' }))).status).toBe(401)

      const unreachable = await startWhoami({ jwksUrl: 'http://127.0.0.1:9/.well-known/jwks.json' })
      const response = await unreachable.whoami(accessToken({ id: 'u', role: 'buyer' }, { key }))
      expect(response.status).toBe(503)
      expect(((await response.json()) as { message: string }).message).toMatch(/cannot be fetched from http:\/\/127\.0\.0\.1:9/)
    } finally {
      jwks.close()
    }
  })
})
