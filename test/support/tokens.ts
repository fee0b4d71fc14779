import jwt from 'jsonwebtoken'
import { baseDefaults, type BaseSettings, type Principal } from '@marketmesh/shared'

/** An access token as user-service signs it (HS256, typ access, the shared audience and issuer). */
export const accessToken = (principal: Principal, settings: BaseSettings['jwt'] = baseDefaults.jwt) =>
  jwt.sign({ role: principal.role, ...(principal.sellerId ? { sellerId: principal.sellerId } : {}) }, settings.secret, {
    subject: principal.id,
    audience: settings.audience,
    issuer: settings.issuer,
    algorithm: 'HS256',
    header: { typ: 'access', alg: 'HS256' },
    expiresIn: '15m'
  })

/** `Authorization` header for the principal. */
export const bearer = (principal: Principal, settings?: BaseSettings['jwt']) => ({
  Authorization: `Bearer ${accessToken(principal, settings)}`
})
