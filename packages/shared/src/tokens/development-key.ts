import { SettingsError } from '../settings'
import { publicPartOf, type PrivateJwk, type PublicJwk } from './jwk'

/**
 * The key every service uses when none is configured, so `npm start` and the tests need no setup.
 * Its private half is in this public repository, so anyone can sign tokens with it: a service
 * refuses it under NODE_ENV=production.
 */
export const DEVELOPMENT_SIGNING_KEY: PrivateJwk = {
  kty: 'OKP',
  crv: 'Ed25519',
  kid: 'marketmesh-development',
  alg: 'EdDSA',
  use: 'sig',
  x: 'FLYOiutErGHgKr5c50yqQBEDoo5uDXDWCXmPSGrlmYE',
  d: 'jWDV_B8idZj1tcIPH6nOzpaZTmHyH9ljLs-6oE3x7Xw'
}

export const DEVELOPMENT_PUBLIC_KEY: PublicJwk = publicPartOf(DEVELOPMENT_SIGNING_KEY)

/**
 * The one-line refusal of the development key in production. Compared by key material, not by id:
 * the same key under another `kid` is just as public.
 */
export const refuseDevelopmentKeyInProduction = (keys: PublicJwk[], setting: string) => {
  if (process.env.NODE_ENV === 'production' && keys.some((key) => key.x === DEVELOPMENT_SIGNING_KEY.x)) {
    throw new SettingsError(`${setting}: the development key is refused in production`)
  }
}
