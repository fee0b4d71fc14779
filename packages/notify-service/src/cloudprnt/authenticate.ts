import type { ParameterizedContext } from 'koa'
import { NotAuthenticated } from '@feathersjs/errors'
import { DEVICE_STRATEGY, isDeviceToken, type ServiceApplication } from '@marketmesh/shared'
import type { Device } from '../printing/print-job'

/**
 * The printer polling `/cloudprnt`, by HTTP Basic: the device's id as user name, its device token
 * as password (what a Star printer's CloudPRNT settings take). Checked by the device strategy, so
 * a revoked device is refused at once, as on every other endpoint.
 */
export const authenticatePrinter = async (app: ServiceApplication, ctx: ParameterizedContext): Promise<Device> => {
  const refuse = (message: string) => {
    ctx.set('WWW-Authenticate', 'Basic realm="marketmesh CloudPRNT", charset="UTF-8"')
    return new NotAuthenticated(message)
  }
  const [scheme, encoded] = (ctx.get('authorization') || '').split(/\s+/)
  if (!/^Basic$/i.test(scheme) || !encoded) throw refuse('HTTP Basic credentials are required: the device id and the device token')
  const credentials = Buffer.from(encoded, 'base64').toString('utf8')
  const colon = credentials.indexOf(':')
  const [id, token] = [credentials.slice(0, colon), credentials.slice(colon + 1)]
  if (colon < 0 || !isDeviceToken(token)) throw refuse('The password must be a device token (mmdev_…)')
  const result = await app
    .service('authentication')
    .authenticate({ strategy: DEVICE_STRATEGY, accessToken: token }, {}, DEVICE_STRATEGY)
    .catch(() => undefined)
  if (!result || result.principal.id !== id) throw refuse('Unknown or revoked device, or a user name other than its id')
  return { id, sellerId: result.principal.sellerId }
}
