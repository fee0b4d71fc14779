import type { ParameterizedContext } from 'koa'
import { NotAuthenticated } from '@feathersjs/errors'
import { DEVICE_STRATEGY, isDeviceToken, type Principal, type ServiceApplication } from '@marketmesh/shared'
import { isDisabledUser } from '../users'

export interface StreamCaller {
  principal: Principal
  /** When the access token expires (ms since the epoch); device tokens do not. */
  expiresAt?: number
}

/**
 * The caller of `GET /stream`, by `Authorization: Bearer` or `?token=` (a browser's EventSource
 * cannot send headers): an access token, or a device token. A disabled user is refused although
 * their token has not expired yet (a disabled seller's device by the device strategy).
 */
export const authenticateStream = async (app: ServiceApplication, ctx: ParameterizedContext): Promise<StreamCaller> => {
  const [scheme, value] = (ctx.get('authorization') || '').split(/\s+/)
  const token = /^Bearer$/i.test(scheme) && value ? value : typeof ctx.query.token === 'string' ? ctx.query.token : undefined
  if (!token) throw new NotAuthenticated('A bearer token (Authorization header or ?token=) is required')
  const strategy = isDeviceToken(token) ? DEVICE_STRATEGY : 'jwt'
  const result = await app.service('authentication').authenticate({ strategy, accessToken: token }, {}, strategy)
  const principal: Principal = result.principal
  if (principal.role !== 'device' && (await isDisabledUser(app.get('postgresqlClient'), principal.id))) {
    throw new NotAuthenticated('This account is disabled')
  }
  const exp = result.authentication?.payload?.exp
  return { principal, expiresAt: typeof exp === 'number' ? exp * 1000 : undefined }
}
