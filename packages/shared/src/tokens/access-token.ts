import { randomUUID } from 'node:crypto'
import { NotAuthenticated } from '@feathersjs/errors'
import { errors, importJWK, jwtVerify, SignJWT, type CryptoKey, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyResult } from 'jose'
import { durationMs } from '../durations'
import type { BaseSettings } from '../settings'
import { ACCESS_TOKEN_ALGORITHM, type PrivateJwk } from './jwk'

/** The header `typ` that tells an access token from any other JWT. */
export const ACCESS_TOKEN_TYPE = 'access'

/** A private key ready to sign, with the id its tokens name it by. */
export interface SigningKey {
  kid: string
  key: CryptoKey
}

export const importSigningKey = async (jwk: PrivateJwk): Promise<SigningKey> => ({
  kid: jwk.kid,
  key: (await importJWK(jwk, ACCESS_TOKEN_ALGORITHM)) as CryptoKey
})

/** What user-service puts in an access token: `sub` (user id), `role`, `sellerId` (sellers), `email_verified`, `sid` (session). */
export interface AccessTokenClaims extends JWTPayload {
  sub: string
  role: string
  sellerId?: string
  email_verified?: boolean
  sid?: string
}

/** How long an access token lives, in seconds (`jwt.accessTokenExpiresIn`). */
export const accessTokenLifetimeSeconds = (jwt: BaseSettings['jwt']) => durationMs(jwt.accessTokenExpiresIn) / 1000

/**
 * An access token: EdDSA, header `kid` and `typ: access`, the shared issuer and audience, a `jti`.
 * `iat` and `exp` come from one reading of the clock, so `exp - iat` is exactly the lifetime.
 */
export const signAccessToken = (signingKey: SigningKey, claims: AccessTokenClaims, jwt: BaseSettings['jwt']) => {
  const issuedAt = Math.floor(Date.now() / 1000)
  return new SignJWT(claims)
    .setProtectedHeader({ alg: ACCESS_TOKEN_ALGORITHM, kid: signingKey.kid, typ: ACCESS_TOKEN_TYPE })
    .setIssuer(jwt.issuer)
    .setAudience(jwt.audience)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + accessTokenLifetimeSeconds(jwt))
    .setJti(randomUUID())
    .sign(signingKey.key)
}

/**
 * The claims of a valid access token, and the `kid` of the key that verified it. Only EdDSA is
 * accepted, so neither an HMAC token (signed with the secret of old) nor `alg: none` ever reaches a
 * key; the key is the one the token's `kid` names. A token made to live longer than
 * `jwt.accessTokenExpiresIn` (`exp - iat`) is refused although its signature is good: a far-future
 * `exp` would outlive every rotation of the key that signed it.
 */
export const verifyAccessToken = async (token: string, resolveKey: JWTVerifyGetKey, jwt: BaseSettings['jwt']) => {
  let verified: JWTVerifyResult
  try {
    verified = await jwtVerify(token, resolveKey, {
      algorithms: [ACCESS_TOKEN_ALGORITHM],
      typ: ACCESS_TOKEN_TYPE,
      issuer: jwt.issuer,
      audience: jwt.audience,
      requiredClaims: ['sub', 'iat', 'exp']
    })
  } catch (error) {
    if (error instanceof errors.JOSEError) throw new NotAuthenticated(error.message)
    throw error
  }
  const { payload, protectedHeader } = verified
  if (payload.exp! - payload.iat! > accessTokenLifetimeSeconds(jwt)) {
    throw new NotAuthenticated(`Access token lives longer than access tokens may (${jwt.accessTokenExpiresIn})`)
  }
  return { claims: payload, kid: protectedHeader.kid! }
}
