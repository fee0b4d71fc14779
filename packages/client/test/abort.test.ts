import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createMarketmeshClient } from '../src'

/** A service that takes requests and never answers them, noting each one and when its client went away. */
describe('a call with an AbortSignal', () => {
  const requests: Array<{ request: IncomingMessage; closed: Promise<void> }> = []
  const server = createServer((request: IncomingMessage, _response: ServerResponse) => {
    requests.push({ request, closed: new Promise((resolve) => request.socket.once('close', () => resolve())) })
  })
  let url: string

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })

  it('rejects when aborted, and its request is cut off at the service', async () => {
    const mm = createMarketmeshClient({ baseUrl: url, token: 'a-token' })
    const controller = new AbortController()
    const call = mm.products.find({ query: { $limit: 1 }, signal: controller.signal })
    await expect.poll(() => requests.length).toBe(1)
    expect(requests[0].request.headers.authorization).toBe('Bearer a-token')
    controller.abort()
    await expect(call).rejects.toMatchObject({ name: 'AbortError' })
    await requests[0].closed
  })

  it('rejects at once with a signal aborted before, with its reason, sending nothing', async () => {
    const mm = createMarketmeshClient({ baseUrl: url, token: 'a-token' })
    const before = requests.length
    const reason = new Error('the screen was left')
    await expect(mm.orders.get('0b6d7c2e-5d0e-4c8a-9d43-0c5b1b8f9a11', { signal: AbortSignal.abort(reason) })).rejects.toBe(reason)
    expect(requests.length).toBe(before)
  })
})
