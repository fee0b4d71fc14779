import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pg from 'pg'
import { POSTGRES, waitFor } from '../../../test/support'
import { buyer, orderPaid, seller, startNotify, type Notify } from './helpers'
import { streamOpener } from './sse'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('the log tail while PostgreSQL refuses connections', () => {
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

  it('reconnects its LISTEN connection once, not once per failed attempt, and streams go on', async () => {
    const shop = seller()
    const stream = await open(notify.url, { as: shop })
    expect(await listeners()).toBe(1)

    await server.query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS false`)
    await server.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2', [
      database,
      'notify-service log tail'
    ])
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
