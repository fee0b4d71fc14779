import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http'
import compose from 'koa-compose'
import type { ServiceApplication } from './declarations'

/**
 * Marks `path` as one whose GET responses stay open for as long as the client wants them (an SSE
 * stream): `listen` serves them with the app's middleware like any other request, but without
 * keeping Koa's context alive while they are open (see `requestListener`). The middleware that
 * answers such a request takes the response over (`ctx.respond = false`) or leaves an error to the
 * error handler, whose JSON is sent as Koa sends it.
 */
export const keepsResponsesOpen = (app: ServiceApplication, path: string) =>
  app.set('openResponsePaths', [...(app.get('openResponsePaths') ?? []), path])

const pathOf = (url = '') => {
  const query = url.indexOf('?')
  return query === -1 ? url : url.slice(0, query)
}

/**
 * The app's HTTP request listener: Koa's (`app.callback()`), but a GET on a path of
 * `keepsResponsesOpen` runs the same middleware without Koa's own request handling. Koa keeps each
 * request's context until its response finishes (`onFinished(res, ctx.onerror)`, its listeners on
 * the response and the socket): for a stream open for hours, some 2.4 KB of context, request,
 * response, Feathers params and listeners held for nothing. Here nothing refers to the context
 * once the middleware is done. A URL that names the path in another form (absolute-form,
 * `http://host/stream`) goes to Koa, which serves it the same, holding its context.
 */
export const requestListener = (app: ServiceApplication): RequestListener => {
  const koaListener = app.callback()
  const openResponsePaths = new Set(app.get('openResponsePaths') ?? [])
  if (openResponsePaths.size === 0) return koaListener
  const middleware = compose(app.middleware)
  return (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'GET' || !openResponsePaths.has(pathOf(req.url))) return koaListener(req, res)
    const ctx = app.createContext(req, res)
    // As Koa's handleRequest: a request no middleware answers is a 404.
    res.statusCode = 404
    middleware(ctx)
      .then(() => {
        if (ctx.respond === false) return
        if (!ctx.writable) return res.end()
        // The error handler's answer (every error leaves as a Feathers error's JSON), as Koa's `respond` sends a JSON body.
        const body = JSON.stringify(ctx.body)
        ctx.length = Buffer.byteLength(body)
        res.end(body)
      })
      .catch((error: Error) => ctx.onerror(error))
  }
}
