import type { Middleware } from '@feathersjs/koa'

/**
 * Koa middleware of the endpoints that post messages: a refusal for the rate limit (429 whose
 * data holds `retryAfter`) goes out with its Retry-After header, which the generic error handler
 * does not send.
 */
export const retryAfterOnRefusal = (): Middleware => async (ctx, next) => {
  try {
    await next()
  } catch (error) {
    const retryAfter = (error as { data?: { retryAfter?: unknown } }).data?.retryAfter
    if (typeof retryAfter === 'number') ctx.set('Retry-After', String(retryAfter))
    throw error
  }
}
