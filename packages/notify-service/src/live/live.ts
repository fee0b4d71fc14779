import { join } from 'node:path'
import type { Middleware } from 'koa'
import { serveStatic } from '@feathersjs/koa'
import { answersPath, packageRoot, type ServiceApplication } from '@marketmesh/shared'

export const LIVE_PATH = '/live'

const originsOf = (...urls: string[]) => [...new Set(urls.map((url) => new URL(url).origin))].join(' ')

/**
 * `GET /live`: the sellers' live orders page, plain files from `public/live` (no build step) and
 * `/live/config.json`, which tells the page where to sign in, where its earnings are and where the
 * ordered products' images come from. Only paths under /live touch the file system, so the API's
 * requests never wait for a stat.
 */
export const livePage = (app: ServiceApplication) => {
  const serve = serveStatic(join(packageRoot(__dirname), 'public'), { maxage: 60_000 })
  const { userServiceUrl, orderServiceUrl, catalogServiceUrl, mediaUrl } = app.get('live')
  // The page talks to this service, user-service (sign-in), order-service (earnings) and catalog-service
  // (the products' images, GET /products), and shows images from where catalog-service's URLs point:
  // its own /media, or the CDN of its MEDIA_PUBLIC_URL. Nothing else.
  const policy = [
    "default-src 'self'",
    `connect-src 'self' ${originsOf(userServiceUrl, orderServiceUrl, catalogServiceUrl)}`,
    `img-src ${originsOf(mediaUrl || catalogServiceUrl)}`,
    "frame-ancestors 'none'"
  ].join('; ')
  const page: Middleware = async (ctx, next) => {
    if (ctx.path !== LIVE_PATH && !ctx.path.startsWith(`${LIVE_PATH}/`)) return next()
    ctx.set('Content-Security-Policy', policy)
    ctx.set('X-Content-Type-Options', 'nosniff')
    if (ctx.path === `${LIVE_PATH}/config.json`) {
      ctx.body = { userServiceUrl, orderServiceUrl, catalogServiceUrl }
      return
    }
    return serve(ctx, next)
  }
  app.use(page)
  answersPath(app, LIVE_PATH)
}
