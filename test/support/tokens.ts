import {
  baseDefaults,
  DEVELOPMENT_SIGNING_KEY,
  importSigningKey,
  signAccessToken,
  type BaseSettings,
  type Principal,
  type PrivateJwk
} from '@marketmesh/shared'

export interface TokenOptions {
  /** The private key that signs; by default the development key every service trusts without configuration. */
  key?: PrivateJwk
  jwt?: BaseSettings['jwt']
}

/** An access token as user-service signs it (EdDSA, `kid`, typ access, the shared audience and issuer). */
export const accessToken = async (principal: Principal, { key = DEVELOPMENT_SIGNING_KEY, jwt = baseDefaults.jwt }: TokenOptions = {}) =>
  signAccessToken(
    await importSigningKey(key),
    { sub: principal.id, role: principal.role, ...(principal.sellerId ? { sellerId: principal.sellerId } : {}) },
    jwt
  )

/** `Authorization` header for the principal. */
export const bearer = async (principal: Principal, options?: TokenOptions) => ({
  Authorization: `Bearer ${await accessToken(principal, options)}`
})
