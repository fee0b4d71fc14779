import type { Middleware } from '@feathersjs/koa'
import type { PublicJwk } from '@marketmesh/shared'

export const JWKS_PATH = '/.well-known/jwks.json'

/**
 * GET /.well-known/jwks.json: the public keys that verify access tokens (a JWK Set, RFC 7517), which
 * the other services read with JWT_JWKS_URL or are given as JWT_PUBLIC_KEYS.
 */
export const jwksRoute = (keys: PublicJwk[]): Middleware => {
  const body = { keys }
  return async (ctx, next) => {
    if (ctx.method !== 'GET' || ctx.path !== JWKS_PATH) return next()
    // Short enough that a cache in between holds a rotated set only minutes.
    ctx.set('Cache-Control', 'public, max-age=300')
    ctx.body = body
  }
}
