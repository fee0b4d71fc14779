import { randomUUID } from 'node:crypto'
import { NotAuthenticated } from '@feathersjs/errors'
import { errors, importJWK, jwtVerify, SignJWT, type CryptoKey, type JWTPayload, type JWTVerifyGetKey } from 'jose'
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

/** An access token: EdDSA, header `kid` and `typ: access`, the shared issuer and audience, a `jti`. */
export const signAccessToken = (signingKey: SigningKey, claims: AccessTokenClaims, jwt: BaseSettings['jwt']) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: ACCESS_TOKEN_ALGORITHM, kid: signingKey.kid, typ: ACCESS_TOKEN_TYPE })
    .setIssuer(jwt.issuer)
    .setAudience(jwt.audience)
    .setIssuedAt()
    .setExpirationTime(jwt.accessTokenExpiresIn)
    .setJti(randomUUID())
    .sign(signingKey.key)

/**
 * The claims of a valid access token. Only EdDSA is accepted, so neither an HMAC token (signed with
 * the secret of old) nor `alg: none` ever reaches a key; the key is the one the token's `kid` names.
 */
export const verifyAccessToken = async (token: string, resolveKey: JWTVerifyGetKey, jwt: BaseSettings['jwt']) => {
  try {
    const { payload } = await jwtVerify(token, resolveKey, {
      algorithms: [ACCESS_TOKEN_ALGORITHM],
      typ: ACCESS_TOKEN_TYPE,
      issuer: jwt.issuer,
      audience: jwt.audience,
      requiredClaims: ['sub', 'exp']
    })
    return payload
  } catch (error) {
    if (error instanceof errors.JOSEError) throw new NotAuthenticated(error.message)
    throw error
  }
}
