import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  baseDefaults,
  DEVELOPMENT_PUBLIC_KEY,
  DEVELOPMENT_SIGNING_KEY,
  generateSigningKey,
  publicPartOf,
  verificationKeysFrom,
  type PrivateJwk
} from '../src'

const jwt = (overrides: Record<string, unknown> = {}) => ({ ...baseDefaults.jwt, ...overrides })

const previousNodeEnv = process.env.NODE_ENV
afterEach(() => {
  process.env.NODE_ENV = previousNodeEnv
})

describe('which keys a service verifies access tokens with', () => {
  let key: PrivateJwk
  beforeAll(async () => {
    key = await generateSigningKey()
  })

  it('is the development key when neither JWT_PUBLIC_KEYS nor JWT_JWKS_URL is set', () => {
    expect(verificationKeysFrom(jwt())).toEqual({ keys: [DEVELOPMENT_PUBLIC_KEY] })
  })

  it('is the keys of JWT_PUBLIC_KEYS, each once, or the set at JWT_JWKS_URL', () => {
    const publicKey = publicPartOf(key)
    expect(verificationKeysFrom(jwt({ publicKeys: { keys: [publicKey, publicKey] } }))).toEqual({ keys: [publicKey] })
    expect(verificationKeysFrom(jwt({ jwksUrl: 'http://user-service:3031/.well-known/jwks.json' }))).toEqual({
      url: 'http://user-service:3031/.well-known/jwks.json'
    })
  })

  it('refuses a private key among the public ones, two keys under one kid, and both settings at once', () => {
    expect(() => verificationKeysFrom(jwt({ publicKeys: { keys: [key] } }))).toThrow(
      `setting "jwt.publicKeys" (env JWT_PUBLIC_KEYS): key "${key.kid}" is a private key; give only its public part (no "d")`
    )
    const impostor = { ...publicPartOf(DEVELOPMENT_SIGNING_KEY), kid: key.kid }
    expect(() => verificationKeysFrom(jwt({ publicKeys: { keys: [publicPartOf(key), impostor] } }))).toThrow(
      `two different keys have the id "${key.kid}"`
    )
    expect(() =>
      verificationKeysFrom(jwt({ publicKeys: { keys: [publicPartOf(key)] }, jwksUrl: 'http://user-service:3031/.well-known/jwks.json' }))
    ).toThrow('setting "jwt.jwksUrl" (env JWT_JWKS_URL): give either JWT_PUBLIC_KEYS or JWT_JWKS_URL, not both')
  })

  it('refuses the development key in production, also under another kid, in one line naming the setting', () => {
    process.env.NODE_ENV = 'production'
    const refusal = 'setting "jwt.publicKeys" (env JWT_PUBLIC_KEYS or JWT_JWKS_URL): the development key is refused in production'
    expect(() => verificationKeysFrom(jwt())).toThrow(refusal)
    const renamed = { ...DEVELOPMENT_PUBLIC_KEY, kid: 'production-2026' }
    expect(() => verificationKeysFrom(jwt({ publicKeys: { keys: [publicPartOf(key), renamed] } }))).toThrow(refusal)
    expect(verificationKeysFrom(jwt({ publicKeys: { keys: [publicPartOf(key)] } }))).toEqual({ keys: [publicPartOf(key)] })
  })
})
