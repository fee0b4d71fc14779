import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTcpProxy, waitFor } from '@marketmesh/test-support'
import { accessToken } from '@marketmesh/test-support/tokens'
import { createApp } from '@marketmesh/notify-service'
import { orderPaid, userRegistered } from '@marketmesh/test-support/events'
import { buyer, seller, startServiceUnderTest, type ServiceUnderTest } from '@marketmesh/test-support/service-under-test'
import type { StreamEvent } from '../src'

/** What the app printed: one line per happening (see react-native/stream-app.mjs). */
interface AppLine {
  at: number
  environment?: { EventSource: string; fetch: string; streamingBodies: boolean }
  open?: true
  error?: { message: string; status?: number }
  event?: StreamEvent
  closed?: true
  requests?: Array<{ url: string; authorized: boolean }>
}

// notify-service asks clients to wait at least this long before reconnecting (`retry`): longer
// than an EventSource's default 3 s, so that the app's reconnection shows it waited what was asked.
const RETRY_MS = 4_000

describe('mm.stream() in a React Native-like runtime (no EventSource, no streaming fetch)', () => {
  let notify: ServiceUnderTest
  // Between the app and notify-service: what drops the app's connection.
  let proxy: Awaited<ReturnType<typeof createTcpProxy>>
  let app: ChildProcessWithoutNullStreams | undefined
  const customer = buyer()
  const shop = seller()
  beforeAll(async () => {
    notify = await startServiceUnderTest({
      label: 'client_rn_stream',
      createApp,
      watched: [],
      settings: { stream: { retry: `${RETRY_MS / 1000}s`, retryJitter: '1s' } }
    })
    for (const user of [customer, shop]) await notify.emit('user.registered', userRegistered(user))
    proxy = await createTcpProxy({ host: '127.0.0.1', port: Number(new URL(notify.url).port) })
  })
  afterAll(async () => {
    app?.kill()
    await proxy?.close()
    await notify?.close()
  })

  it('reads the stream over XMLHttpRequest, and after a dropped connection resumes after the last id: nothing lost, nothing twice', async () => {
    const paidBefore = [orderPaid(customer, shop), orderPaid(customer, shop)]
    for (const data of paidBefore) await notify.emit('order.paid', data)

    const started = spawn(process.execPath, [join(__dirname, 'react-native', 'stream-app.mjs')], {
      env: { ...process.env, NOTIFY_URL: `http://127.0.0.1:${proxy.port}`, TOKEN: accessToken(customer) }
    })
    app = started
    const lines: AppLine[] = []
    createInterface({ input: started.stdout }).on('line', (line) => lines.push(JSON.parse(line) as AppLine))
    let stderr = ''
    started.stderr.on('data', (chunk) => (stderr += chunk))
    const paid = () => lines.flatMap((line) => (line.event?.type === 'order.paid' ? [{ id: line.event.id!, orderId: line.event.data.orderId }] : []))
    const opens = () => lines.filter((line) => line.open)

    await waitFor(() => paid().length >= 2, { what: `the first orders in the app (stderr: ${stderr})` })
    expect(lines[0].environment).toEqual({ EventSource: 'undefined', fetch: 'function', streamingBodies: false })
    const lastIdBeforeDrop = lines.flatMap((line) => (line.event?.id === undefined ? [] : [line.event.id])).at(-1)

    await proxy.cut()
    await proxy.restore()
    const paidWhileDown = [orderPaid(customer, shop), orderPaid(customer, shop)]
    for (const data of paidWhileDown) await notify.emit('order.paid', data)
    await waitFor(() => paid().length >= 4, { what: 'the orders paid while the connection was down', timeoutMs: 30_000 })

    // Each order once across the two connections, in the log's order (which is notify-service's, not the emitting one's).
    expect(
      paid()
        .map((order) => order.orderId)
        .sort()
    ).toEqual([...paidBefore, ...paidWhileDown].map((data) => data.orderId).sort())
    const ids = paid().map((order) => order.id)
    expect(ids).toEqual([...ids].sort((a, b) => a - b))
    expect(new Set(ids).size).toBe(4)

    // Reopened once, after the server's `retry`.
    expect(opens()).toHaveLength(2)
    const dropped = lines.find((line) => line.error && line.at > opens()[0].at)!
    expect(opens()[1].at - dropped.at).toBeGreaterThanOrEqual(RETRY_MS - 50)

    // close() lets the app's process end: no connection or timer left behind.
    started.stdin.end()
    const [code] = await once(started, 'exit')
    expect(code).toBe(0)
    // Both connections over XMLHttpRequest, with the token in a header, the second after the last id the first got.
    const streamUrl = `http://127.0.0.1:${proxy.port}/stream`
    expect(lines.at(-1)).toMatchObject({
      closed: true,
      requests: [
        { url: `${streamUrl}?lastEventId=0`, authorized: true },
        { url: `${streamUrl}?lastEventId=${lastIdBeforeDrop}`, authorized: true }
      ]
    })
  }, 60_000)
})
