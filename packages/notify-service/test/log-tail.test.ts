import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pg from 'pg'
import { POSTGRES, waitFor } from '@marketmesh/test-support'
import { buyer, orderPaid, registeredDevice, seller, startNotify, userRegistered, type Notify } from './helpers'
import { streamOpener, type Stream } from '@marketmesh/test-support/sse'
import { EventSource } from 'eventsource'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('the log tail when its LISTEN connection is lost', () => {
  let notify: Notify
  let server: pg.Client
  let database: string
  const { open, closeAll } = streamOpener()
  beforeAll(async () => {
    notify = await startNotify('notify_tail')
    database = new URL(notify.settings.postgresql.connection).pathname.slice(1)
    server = new pg.Client(`${POSTGRES}/postgres`)
    await server.connect()
  })
  afterAll(async () => {
    closeAll()
    await server?.query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS true`).catch(() => undefined)
    await server?.end()
    await notify?.close()
  })

  const listeners = async () =>
    Number(
      (
        await server.query('SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2', [
          database,
          'notify-service log tail'
        ])
      ).rows[0].count
    )

  const endListener = () =>
    server.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2', [
      database,
      'notify-service log tail'
    ])
  const ended = (stream: Stream) => stream.source.readyState === EventSource.CLOSED

  it('ends the streams of a device revoked and of users disabled (a seller’s devices too) while it was not listening, once it listens again', async () => {
    const shop = seller()
    const device = await registeredDevice(notify, shop)
    const disabledShop = seller()
    await notify.emit('user.registered', userRegistered(disabledShop))
    const disabledShopDevice = await registeredDevice(notify, disabledShop)
    const ada = buyer()
    await notify.emit('user.registered', userRegistered(ada))
    await waitFor(
      () =>
        notify
          .db('users')
          .whereIn('id', [ada.id, disabledShop.id])
          .then((rows) => rows.length === 2),
      { what: 'the users' }
    )
    const [deviceStream, disabledShopDeviceStream, adaStream, other] = [
      await open(notify.url, { token: device.token }),
      await open(notify.url, { token: disabledShopDevice.token }),
      await open(notify.url, { as: ada }),
      await open(notify.url, { as: buyer() })
    ]
    // Written as the handlers write them, but without their NOTIFY: the notices this instance missed.
    await notify.db('device_credentials').where({ id: device.deviceId }).update({ revoked_at: new Date(), token_hash: null })
    await notify.db('users').whereIn('id', [ada.id, disabledShop.id]).update({ status: 'disabled' })
    expect([ended(deviceStream), ended(disabledShopDeviceStream), ended(adaStream)]).toEqual([false, false, false])

    await endListener()
    await waitFor(() => ended(deviceStream) && ended(disabledShopDeviceStream) && ended(adaStream), {
      what: 'the streams of the revoked device, of the disabled seller’s device and of the disabled user ended'
    })
    expect(ended(other)).toBe(false)
  })

  it('reconnects its LISTEN connection once, not once per failed attempt, and streams go on', async () => {
    const shop = seller()
    const stream = await open(notify.url, { as: shop })
    expect(await listeners()).toBe(1)

    await server.query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS false`)
    await endListener()
    // Several reconnect delays of refused attempts: doubling attempts would leave several listeners.
    await sleep(4_500)
    await server.query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS true`)
    await waitFor(async () => (await listeners()) === 1, { what: 'the listener back' })
    await sleep(3_000)
    expect(await listeners()).toBe(1)

    const order = orderPaid(buyer(), shop)
    await notify.emit('order.paid', order)
    const paid = () => stream.received.filter((message) => message.type === 'order.paid')
    await waitFor(() => paid().length > 0, { what: 'order.paid on the stream' })
    expect(paid().map((message) => message.data.orderId)).toEqual([order.orderId])
  })
})
