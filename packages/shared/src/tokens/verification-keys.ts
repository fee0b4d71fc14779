import { SettingsError, type BaseSettings } from '../settings'
import { DEVELOPMENT_PUBLIC_KEY, refuseDevelopmentKeyInProduction } from './development-key'
import { publicPartOf, type PublicJwk } from './jwk'

/** Where a service finds the public keys that verify access tokens. */
export type VerificationKeys = { keys: PublicJwk[] } | { url: string }

export const PUBLIC_KEYS_SETTING = 'setting "jwt.publicKeys" (env JWT_PUBLIC_KEYS)'

/**
 * The keys as given, each once. A private key is refused: a verifier that holds one could forge
 * tokens, which is what the asymmetric keys are there to prevent.
 */
export const distinctPublicKeys = (keys: PublicJwk[], setting = PUBLIC_KEYS_SETTING): PublicJwk[] => {
  const byKid = new Map<string, PublicJwk>()
  for (const key of keys) {
    if ('d' in key) throw new SettingsError(`${setting}: key "${key.kid}" is a private key; give only its public part (no "d")`)
    const known = byKid.get(key.kid)
    if (known && known.x !== key.x) throw new SettingsError(`${setting}: two different keys have the id "${key.kid}"`)
    byKid.set(key.kid, publicPartOf(key))
  }
  return [...byKid.values()]
}

/**
 * A service that does not issue tokens verifies with JWT_PUBLIC_KEYS (a JWK Set) or the set at
 * JWT_JWKS_URL (user-service's /.well-known/jwks.json); given neither, with the development key.
 */
export const verificationKeysFrom = (jwt: BaseSettings['jwt']): VerificationKeys => {
  if (jwt.jwksUrl !== undefined && jwt.publicKeys !== undefined) {
    throw new SettingsError('setting "jwt.jwksUrl" (env JWT_JWKS_URL): give either JWT_PUBLIC_KEYS or JWT_JWKS_URL, not both')
  }
  if (jwt.jwksUrl !== undefined) return { url: jwt.jwksUrl }
  const keys = distinctPublicKeys(jwt.publicKeys?.keys ?? [DEVELOPMENT_PUBLIC_KEY])
  refuseDevelopmentKeyInProduction(keys, 'setting "jwt.publicKeys" (env JWT_PUBLIC_KEYS or JWT_JWKS_URL)')
  return { keys }
}
