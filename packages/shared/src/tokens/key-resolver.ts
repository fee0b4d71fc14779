import { Unavailable } from '@feathersjs/errors'
import { createRemoteJWKSet, errors, importJWK, type CryptoKey, type JWTVerifyGetKey } from 'jose'
import { ACCESS_TOKEN_ALGORITHM, type PublicJwk } from './jwk'
import type { VerificationKeys } from './verification-keys'

/** How long a JWKS fetched from `jwt.jwksUrl` is used before it is fetched again: a key removed from it is refused after this. */
export const KEY_SET_MAX_AGE_MS = 60_000

/** The keys a verifier holds now. */
export interface KeyResolver {
  /** What `jwtVerify` asks for the key that signed a token, by the token's `kid`. */
  resolve: JWTVerifyGetKey
  /** Whether a key of this id is in the set as last loaded (a remote set may have dropped it since a token was verified). */
  holds: (kid: string) => boolean
}

const unknownKey = () => new errors.JWKSNoMatchingKey('Access token signed by an unknown key')

/** Imports every key once, at start: a request only looks its token's `kid` up. */
const localKeyResolver = async (keys: PublicJwk[]): Promise<KeyResolver> => {
  const byKid = new Map<string, CryptoKey>()
  for (const key of keys) byKid.set(key.kid, (await importJWK(key, ACCESS_TOKEN_ALGORITHM)) as CryptoKey)
  return {
    resolve: ({ kid }) => {
      const key = kid && byKid.get(kid)
      if (!key) throw unknownKey()
      return key
    },
    holds: (kid) => byKid.has(kid)
  }
}

/**
 * jose fetches the set on first use, keeps it (`KEY_SET_MAX_AGE_MS`) and fetches it again, at most
 * every 30 s, for a `kid` it does not know: a new key is picked up without a restart. That the set
 * cannot be fetched is not the caller's fault: 503, not 401.
 */
const remoteKeyResolver = (url: string): KeyResolver => {
  const remoteSet = createRemoteJWKSet(new URL(url), { cacheMaxAge: KEY_SET_MAX_AGE_MS })
  return {
    resolve: async (header, token) => {
      if (header.kid === undefined) throw unknownKey()
      try {
        return await remoteSet(header, token)
      } catch (error) {
        if (error instanceof errors.JWKSNoMatchingKey) throw unknownKey()
        if (error instanceof errors.JWKSMultipleMatchingKeys) throw error
        throw new Unavailable(`The keys that verify access tokens cannot be fetched from ${url}: ${(error as Error).message}`)
      }
    },
    holds: (kid) => remoteSet.jwks()?.keys.some((key) => key.kid === kid) ?? false
  }
}

/** The keys `keys` names: imported once, or fetched from a URL and kept up to date. */
export const keyResolver = async (keys: VerificationKeys): Promise<KeyResolver> =>
  'url' in keys ? remoteKeyResolver(keys.url) : localKeyResolver(keys.keys)
