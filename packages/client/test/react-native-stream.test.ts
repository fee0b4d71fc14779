import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { once } from 'node:events'
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from '@marketmesh/test-support'
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
  xhrRequests?: number
}

/** A TCP relay to notify-service that can drop every connection through it, and shows each request's head. */
const relayTo = async (target: string) => {
  const { hostname, port } = new URL(target)
  const sockets = new Set<Socket>()
  const heads: string[] = []
  const server: Server = createServer((incoming) => {
    const outgoing = connect(Number(port), hostname)
    for (const socket of [incoming, outgoing]) {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      socket.on('error', () => undefined)
    }
    incoming.once('data', (head) => heads.push(head.toString('latin1')))
    incoming.pipe(outgoing).pipe(incoming)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    heads,
    dropAll: () => {
      for (const socket of sockets) socket.destroy()
    },
    close: () => new Promise((resolve) => server.close(resolve))
  }
}

// notify-service asks clients to wait at least this long before reconnecting (`retry`): longer
// than an EventSource's default 3 s, so that the app's reconnection shows it waited what was asked.
const RETRY_MS = 4_000

describe('mm.stream() in a React Native-like runtime (no EventSource, no streaming fetch)', () => {
  let notify: ServiceUnderTest
  let relay: Awaited<ReturnType<typeof relayTo>>
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
    relay = await relayTo(notify.url)
  })
  afterAll(async () => {
    app?.kill()
    await relay?.close()
    await notify?.close()
  })

  it('reads the stream over XMLHttpRequest, and after a dropped connection resumes after the last id: nothing lost, nothing twice', async () => {
    const paidBefore = [orderPaid(customer, shop), orderPaid(customer, shop)]
    for (const data of paidBefore) await notify.emit('order.paid', data)

    const started = spawn(process.execPath, [join(__dirname, 'react-native', 'stream-app.mjs')], {
      env: { ...process.env, NOTIFY_URL: relay.url, TOKEN: accessToken(customer) }
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
    const lastIdBeforeDrop = lines.flatMap((line) => (line.event?.id === undefined ? [] : [line.event.id])).at(-1)!

    relay.dropAll()
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

    // Reopened once, after the server's `retry`, asking for what came after the last id, with the token in a header.
    expect(opens()).toHaveLength(2)
    const dropped = lines.find((line) => line.error && line.at > opens()[0].at)!
    expect(opens()[1].at - dropped.at).toBeGreaterThanOrEqual(RETRY_MS - 50)
    expect(relay.heads).toHaveLength(2)
    expect(relay.heads[0]).toMatch(/^GET \/stream\?lastEventId=0 /)
    expect(relay.heads[1]).toMatch(new RegExp(`^GET /stream\\?lastEventId=${lastIdBeforeDrop} `))
    for (const head of relay.heads) {
      expect(head).toMatch(/\r\nauthorization: Bearer [\w.-]+\r\n/i)
      expect(head).not.toMatch(/token=/)
    }

    // close() lets the app's process end: no connection or timer left behind.
    started.stdin.end()
    const [code] = await once(started, 'exit')
    expect(code).toBe(0)
    expect(lines.at(-1)).toMatchObject({ closed: true, xhrRequests: 2 })
  }, 60_000)
})
