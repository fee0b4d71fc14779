import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { NotAuthenticated } from '@feathersjs/errors'
import type { ParameterizedContext } from 'koa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { answersPath, createServiceApp, keepsResponsesOpen, listen, serviceSettingsSchema, type ServiceApplication } from '../src'
import { cleanUp, isolatedSettings, scrapedMetric, waitFor } from '@marketmesh/test-support'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

// Both answer alike: 401 without ?ok, else a response held open. Only the first is kept open by `keepsResponsesOpen`.
const HELD = '/held'
const THROUGH_KOA = '/through-koa'

describe('a path whose responses stay open (keepsResponsesOpen)', () => {
  const settings = isolatedSettings('open_responses')
  const contexts = new Map<string, WeakRef<ParameterizedContext>>()
  let app: ServiceApplication
  let server: Server
  let url: string
  let opsUrl: string
  beforeAll(async () => {
    app = createServiceApp({
      name: 'open-responses',
      root: __dirname,
      settingsSchema: serviceSettingsSchema({}),
      overrides: { ...settings, port: 0, logLevel: 'silent' },
      migrations: {},
      services: (app) => {
        app.use(async (ctx, next) => {
          if (ctx.path !== HELD && ctx.path !== THROUGH_KOA) return next()
          if (ctx.query.ok === undefined) throw new NotAuthenticated('Not you')
          contexts.set(ctx.path, new WeakRef(ctx))
          ctx.respond = false
          ctx.res.writeHead(200, { 'Content-Type': 'text/plain' })
          ctx.res.write('open\n')
        })
        answersPath(app, HELD)
        answersPath(app, THROUGH_KOA)
        keepsResponsesOpen(app, HELD)
      }
    })
    server = await listen(app, 0)
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    opsUrl = `http://127.0.0.1:${(app.get('opsServer')!.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    server?.closeAllConnections()
    server?.close()
    await app?.teardown()
    await cleanUp({ prefix: settings.amqp.prefix, databases: [settings.postgresql.connection] })
  })

  it('answers an error there as Koa answers it elsewhere: the same JSON, request id, CORS headers, and counted', async () => {
    const answer = async (path: string) => {
      const response = await fetch(`${url}${path}`, { headers: { Origin: 'https://shop.example', 'X-Request-Id': 'req-1' } })
      const headers = Object.fromEntries([...response.headers].filter(([name]) => name !== 'date'))
      return { status: response.status, headers, body: await response.text() }
    }
    const held = await answer(HELD)
    expect(held).toEqual(await answer(THROUGH_KOA))
    expect(held.status).toBe(401)
    expect(JSON.parse(held.body)).toMatchObject({ name: 'NotAuthenticated', message: 'Not you', code: 401 })
    expect(held.headers).toMatchObject({
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(held.body)),
      'x-request-id': 'req-1',
      'access-control-allow-origin': '*',
      'access-control-expose-headers': expect.stringMatching(/x-request-id/i)
    })
    expect(await scrapedMetric(opsUrl, 'http_request_duration_seconds_count', { route: HELD, status: '401' })).toBe(1)
  })

  it('holds no Koa context while a response stays open there, where Koa holds one', async () => {
    const held = await fetch(`${url}${HELD}?ok`)
    const throughKoa = await fetch(`${url}${THROUGH_KOA}?ok`)
    expect([held.status, throughKoa.status]).toEqual([200, 200])
    await waitFor(
      async () => {
        gc()
        await new Promise((resolve) => setImmediate(resolve))
        return contexts.get(HELD)!.deref() === undefined
      },
      { what: "the open response's context collected" }
    )
    gc()
    // The check can see a context held: Koa's own handling keeps it until the response ends.
    expect(contexts.get(THROUGH_KOA)!.deref()).toBeDefined()
    // Counted once open, as on any path.
    expect(await scrapedMetric(opsUrl, 'http_request_duration_seconds_count', { route: HELD, status: '200' })).toBe(1)
    await held.body?.cancel()
    await throughKoa.body?.cancel()
  })
})
