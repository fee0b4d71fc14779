import type { Middleware, ParameterizedContext } from 'koa'
import { BadRequest, MethodNotAllowed, TooManyRequests } from '@feathersjs/errors'
import { durationMs, type ServiceApplication } from '@marketmesh/shared'
import { authenticateStream } from './authenticate'
import type { StreamHub } from './hub'
import { STREAM_LIMIT_RETRY_AFTER_SECONDS } from './limits'
import { catchUp } from './replay'
import { StreamClient } from './stream-client'

export const STREAM_PATH = '/stream'

const lastEventIdOf = (header: string, query: unknown) => {
  const value = header || (typeof query === 'string' ? query : '')
  if (value === '') return undefined
  if (!/^[0-9]{1,15}$/.test(value)) throw new BadRequest('Last-Event-ID must be the id of a notification')
  return Number(value)
}

/**
 * `GET /stream`: authenticate, open the SSE stream, replay what the caller missed (Last-Event-ID
 * or ?lastEventId=), then live. `retry` is jittered per stream so that after a restart thousands
 * of clients do not all reconnect in the same instant. A caller or an address with its most
 * streams open (`stream.maxPerCaller`, `stream.maxPerAddress`) gets 429 with Retry-After. Served
 * without holding Koa's context once open (`keepsResponsesOpen`): nothing here outlives the
 * opening but the StreamClient.
 */
export const streamRoute = (app: ServiceApplication, hub: StreamHub): Middleware => {
  const settings = app.get('stream')
  const retryMs = durationMs(settings.retry)
  const retryJitterMs = durationMs(settings.retryJitter)

  /** The caller's stream, in the hub, and where its replay ends; none for a caller gone meanwhile. */
  const open = async (ctx: ParameterizedContext) => {
    const { principal, expiresAt = Infinity } = await authenticateStream(app, ctx)
    const after = lastEventIdOf(ctx.get('last-event-id'), ctx.query.lastEventId)
    const address = ctx.ip
    // Counted and registered with no await between: streams opened at once cannot all pass the count.
    const refused = hub.admit(principal, address)
    if (refused) {
      ctx.set('Retry-After', String(STREAM_LIMIT_RETRY_AFTER_SECONDS))
      throw new TooManyRequests(refused)
    }
    // A caller gone while its credential was read has no close to come: nothing to open.
    if (ctx.res.closed) return hub.release(principal, address)
    ctx.status = 200
    ctx.respond = false
    const client = new StreamClient(hub, ctx.res, {
      principal,
      address,
      expiresAt,
      retryMs: retryMs + Math.floor(Math.random() * retryJitterMs)
    })
    // Registered before the replay reads: what commits meanwhile waits in the client, none is lost.
    hub.add(client)
    return { client, after, position: hub.position }
  }

  return async (ctx, next) => {
    if (ctx.path !== STREAM_PATH) return next()
    if (ctx.method !== 'GET') throw new MethodNotAllowed('Only GET /stream')
    // From before the credential is read until the stream is in the hub, or the opening failed.
    const opening = hub.opening()
    const opened = await open(ctx).finally(opening.done)
    if (!opened) return
    const { client, after, position } = opened
    // Revoked after its credential was read: the end went by before the stream was in the hub.
    if (opening.endedMeanwhile(client.principal)) return client.close()
    try {
      await catchUp(app, client, after, position)
      client.goLive()
    } catch (error) {
      app.get('logger').warn({ err: (error as Error).message }, 'stream replay failed; closing it')
      client.close()
    }
  }
}
