import { join } from 'node:path'
import type { Middleware } from 'koa'
import { serveStatic } from '@feathersjs/koa'
import { answersPath, packageRoot, type ServiceApplication } from '@marketmesh/shared'

export const LIVE_PATH = '/live'

/**
 * `GET /live`: the sellers' live orders page, plain files from `public/live` (no build step) and
 * `/live/config.json`, which tells the page where to sign in and where its earnings are. Only paths under /live touch the
 * file system, so the API's requests never wait for a stat.
 */
export const livePage = (app: ServiceApplication) => {
  const serve = serveStatic(join(packageRoot(__dirname), 'public'), { maxage: 60_000 })
  const { userServiceUrl, orderServiceUrl } = app.get('live')
  const origins = [...new Set([userServiceUrl, orderServiceUrl].map((url) => new URL(url).origin))].join(' ')
  const page: Middleware = async (ctx, next) => {
    if (ctx.path !== LIVE_PATH && !ctx.path.startsWith(`${LIVE_PATH}/`)) return next()
    // The page talks to this service, user-service (sign-in) and order-service (earnings), nothing else.
    ctx.set('Content-Security-Policy', `default-src 'self'; connect-src 'self' ${origins}; frame-ancestors 'none'`)
    ctx.set('X-Content-Type-Options', 'nosniff')
    if (ctx.path === `${LIVE_PATH}/config.json`) {
      ctx.body = { userServiceUrl, orderServiceUrl }
      return
    }
    return serve(ctx, next)
  }
  app.use(page)
  answersPath(app, LIVE_PATH)
}
