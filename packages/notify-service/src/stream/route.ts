import type { Middleware } from 'koa'
import { BadRequest, MethodNotAllowed, TooManyRequests } from '@feathersjs/errors'
import { durationMs, type ServiceApplication } from '@marketmesh/shared'
import { authenticateStream } from './authenticate'
import { streamOwner } from './control'
import type { StreamHub } from './hub'
import { STREAM_LIMIT_RETRY_AFTER_SECONDS, StreamLimits } from './limits'
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
 * streams open (`stream.maxPerCaller`, `stream.maxPerAddress`) gets 429 with Retry-After.
 */
export const streamRoute = (app: ServiceApplication, hub: StreamHub): Middleware => {
  const settings = app.get('stream')
  const limits = new StreamLimits({ perCaller: settings.maxPerCaller, perAddress: settings.maxPerAddress }, app.get('metrics'))
  return async (ctx, next) => {
    if (ctx.path !== STREAM_PATH) return next()
    if (ctx.method !== 'GET') throw new MethodNotAllowed('Only GET /stream')
    // From before the credential is read until the stream is in the hub, or the request ends without it.
    const opening = hub.opening()
    ctx.res.once('close', opening.done)
    const { principal, expiresAt } = await authenticateStream(app, ctx)
    const after = lastEventIdOf(ctx.get('last-event-id'), ctx.query.lastEventId)
    // Counted and registered with no await between: streams opened at once cannot all pass the count.
    const admission = limits.admit(streamOwner(principal), ctx.ip)
    if ('refused' in admission) {
      ctx.set('Retry-After', String(STREAM_LIMIT_RETRY_AFTER_SECONDS))
      throw new TooManyRequests(admission.refused)
    }
    // A caller gone while its credential was read has no close to come: nothing to open.
    if (ctx.res.closed) return admission.release()
    ctx.res.once('close', admission.release)

    ctx.status = 200
    ctx.respond = false
    const client = new StreamClient(principal, ctx.res, {
      maxBufferedBytes: settings.maxBufferedBytes,
      heartbeatMs: durationMs(settings.heartbeat),
      retryMs: durationMs(settings.retry) + Math.floor(Math.random() * durationMs(settings.retryJitter)),
      onEvicted: (evicted) => {
        hub.remove(evicted)
        hub.evictions.inc()
      }
    })
    // Registered before the replay reads: what commits meanwhile waits in the client, none is lost.
    hub.add(client)
    opening.done()
    const presenceEnds = app.get('printerPresence').streamOpened(principal)
    const userPresenceEnds = app.get('userPresence').streamOpened(principal)
    const position = hub.position
    const expiry = expiresAt === undefined ? undefined : setTimeout(() => client.close(), Math.max(0, expiresAt - Date.now()))
    ctx.res.once('close', () => {
      clearTimeout(expiry)
      hub.remove(client)
      presenceEnds()
      userPresenceEnds()
    })
    // Revoked after its credential was read: the end went by before the stream was in the hub.
    if (opening.endedMeanwhile(principal)) return client.close()
    try {
      await catchUp(app, client, after, position)
      client.goLive()
    } catch (error) {
      app.get('logger').warn({ err: (error as Error).message }, 'stream replay failed; closing it')
      client.close()
    }
  }
}
