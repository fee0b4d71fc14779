import { Unavailable } from '@feathersjs/errors'
import { createRemoteJWKSet, errors, importJWK, type CryptoKey, type JWTVerifyGetKey } from 'jose'
import { ACCESS_TOKEN_ALGORITHM, type PublicJwk } from './jwk'
import type { VerificationKeys } from './verification-keys'

const unknownKey = () => new errors.JWKSNoMatchingKey('Access token signed by an unknown key')

/** Imports every key once, at start: a request only looks its token's `kid` up. */
const localKeyResolver = async (keys: PublicJwk[]): Promise<JWTVerifyGetKey> => {
  const byKid = new Map<string, CryptoKey>()
  for (const key of keys) byKid.set(key.kid, (await importJWK(key, ACCESS_TOKEN_ALGORITHM)) as CryptoKey)
  return ({ kid }) => {
    const key = kid && byKid.get(kid)
    if (!key) throw unknownKey()
    return key
  }
}

/**
 * jose fetches the set on first use, keeps it (10 minutes) and fetches it again, at most every 30 s,
 * for a `kid` it does not know: a new key is picked up without a restart. That the set cannot be
 * fetched is not the caller's fault: 503, not 401.
 */
const remoteKeyResolver = (url: string): JWTVerifyGetKey => {
  const remoteSet = createRemoteJWKSet(new URL(url))
  return async (header, token) => {
    if (header.kid === undefined) throw unknownKey()
    try {
      return await remoteSet(header, token)
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey) throw unknownKey()
      if (error instanceof errors.JWKSMultipleMatchingKeys) throw error
      throw new Unavailable(`The keys that verify access tokens cannot be fetched from ${url}: ${(error as Error).message}`)
    }
  }
}

/** The key resolver `jwtVerify` asks for the key that signed a token, by the token's `kid`. */
export const keyResolver = async (keys: VerificationKeys): Promise<JWTVerifyGetKey> =>
  'url' in keys ? remoteKeyResolver(keys.url) : localKeyResolver(keys.keys)
