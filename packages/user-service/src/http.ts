import type { Middleware } from '@feathersjs/koa'

declare module '@feathersjs/feathers' {
  interface Params {
    /** The client's address as Koa sees it (behind a proxy, only with the app's `proxy` trust on). */
    ip?: string
  }
}

/**
 * Koa middleware of the rate-limited endpoints (/authentication, /users): hands the client IP to the
 * hooks, and sends the headers a hook set for an error response too (Retry-After with 429), which
 * the generic error handler does not.
 */
export const rateLimitedHttp = (): Middleware => async (ctx, next) => {
  ctx.feathers = { ...ctx.feathers, ip: ctx.ip }
  try {
    await next()
  } catch (error) {
    ctx.set(ctx.hook?.http?.headers ?? {})
    throw error
  }
}
