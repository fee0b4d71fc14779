import { Type, type Static } from '@feathersjs/typebox'
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose'

/** The one algorithm access tokens are signed with: EdDSA over Ed25519 keys. */
export const ACCESS_TOKEN_ALGORITHM = 'EdDSA'

// Both halves of an Ed25519 key are 32 bytes: 43 characters of base64url.
const keyBytes = Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' })

const publicJwkProperties = {
  kty: Type.Literal('OKP'),
  crv: Type.Literal('Ed25519'),
  x: keyBytes,
  /** Tokens name the key that signed them by this id (their header's `kid`). */
  kid: Type.String({ minLength: 1 }),
  alg: Type.Optional(Type.Literal(ACCESS_TOKEN_ALGORITHM)),
  use: Type.Optional(Type.Literal('sig'))
}

/** The public half of an Ed25519 key as a JWK (RFC 8037): what verifiers are given. */
export const publicJwkSchema = Type.Object(publicJwkProperties, { additionalProperties: true })
export type PublicJwk = Static<typeof publicJwkSchema>

/** A whole Ed25519 key as a JWK, private part `d` included: only user-service has one. */
export const privateJwkSchema = Type.Object({ ...publicJwkProperties, d: keyBytes }, { additionalProperties: true })
export type PrivateJwk = Static<typeof privateJwkSchema>

/** A JWK Set (RFC 7517), as user-service serves it at /.well-known/jwks.json. */
export const jwksSchema = Type.Object({ keys: Type.Array(publicJwkSchema, { minItems: 1 }) }, { additionalProperties: true })

/** Only the public members, picked one by one, so nothing private is ever published by mistake. */
export const publicPartOf = ({ kty, crv, x, kid }: PublicJwk): PublicJwk => ({ kty, crv, x, kid, alg: ACCESS_TOKEN_ALGORITHM, use: 'sig' })

/** A new signing key, whose id is its RFC 7638 thumbprint. */
export const generateSigningKey = async (): Promise<PrivateJwk> => {
  const { privateKey } = await generateKeyPair(ACCESS_TOKEN_ALGORITHM, { extractable: true })
  const { x, d } = await exportJWK(privateKey)
  const key = { kty: 'OKP' as const, crv: 'Ed25519' as const, x: x!, d: d! }
  return { ...key, kid: await calculateJwkThumbprint(key), alg: ACCESS_TOKEN_ALGORITHM, use: 'sig' }
}
