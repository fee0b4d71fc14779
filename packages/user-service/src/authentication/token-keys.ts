import {
  DEVELOPMENT_SIGNING_KEY,
  distinctPublicKeys,
  publicPartOf,
  refuseDevelopmentKeyInProduction,
  SettingsError,
  type ServiceConfiguration
} from '@marketmesh/shared'

/**
 * user-service signs with JWT_PRIVATE_KEY (the development key when none is given). It verifies, and
 * publishes for the other services, that key's public part and those of JWT_PUBLIC_KEYS: during a
 * rotation, the next key or the previous ones.
 */
export const tokenKeysFrom = ({ signingKey = DEVELOPMENT_SIGNING_KEY, jwt }: Pick<ServiceConfiguration, 'signingKey' | 'jwt'>) => {
  if (jwt.jwksUrl !== undefined) {
    throw new SettingsError(
      'setting "jwt.jwksUrl" (env JWT_JWKS_URL): user-service serves the key set itself; give it the other valid keys in JWT_PUBLIC_KEYS'
    )
  }
  refuseDevelopmentKeyInProduction([signingKey], 'setting "signingKey" (env JWT_PRIVATE_KEY)')
  const publicKeys = distinctPublicKeys([publicPartOf(signingKey), ...(jwt.publicKeys?.keys ?? [])])
  refuseDevelopmentKeyInProduction(publicKeys, 'setting "jwt.publicKeys" (env JWT_PUBLIC_KEYS)')
  return { signingKey, publicKeys }
}
