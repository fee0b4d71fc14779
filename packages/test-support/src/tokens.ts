import { createPrivateKey, randomUUID, sign } from 'node:crypto'
import { baseDefaults, DEVELOPMENT_SIGNING_KEY, type BaseSettings, type Principal, type PrivateJwk } from '@marketmesh/shared'

export interface TokenOptions {
  /** The private key that signs; by default the development key every service trusts without configuration. */
  key?: PrivateJwk
  jwt?: BaseSettings['jwt']
  /** How long the token is valid; 15 minutes, as user-service's, by default. */
  lifetimeSeconds?: number
}

const ACCESS_TOKEN_LIFETIME_S = 15 * 60

const base64urlJson = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')

/**
 * An access token as user-service signs it (EdDSA, `kid`, typ access, the shared audience and issuer).
 * Made here from the RFCs (7515, 8037) with node:crypto rather than with user-service's signer: the
 * services must take any standard EdDSA JWT, and a synchronous helper fits in a header literal.
 */
export const accessToken = (
  principal: Principal,
  { key = DEVELOPMENT_SIGNING_KEY, jwt = baseDefaults.jwt, lifetimeSeconds = ACCESS_TOKEN_LIFETIME_S }: TokenOptions = {}
) => {
  const now = Math.floor(Date.now() / 1000)
  const header = { alg: 'EdDSA', kid: key.kid, typ: 'access' }
  const claims = {
    sub: principal.id,
    role: principal.role,
    ...(principal.sellerId ? { sellerId: principal.sellerId } : {}),
    ...(principal.emailVerified !== undefined ? { email_verified: principal.emailVerified } : {}),
    iss: jwt.issuer,
    aud: jwt.audience,
    iat: now,
    exp: now + lifetimeSeconds,
    jti: randomUUID()
  }
  const signingInput = `${base64urlJson(header)}.${base64urlJson(claims)}`
  return `${signingInput}.${sign(null, Buffer.from(signingInput), createPrivateKey({ key, format: 'jwk' })).toString('base64url')}`
}

/** `Authorization` header for the principal. */
export const bearer = (principal: Principal, options?: TokenOptions) => ({
  Authorization: `Bearer ${accessToken(principal, options)}`
})
