import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** One request a receiver got: its headers and the raw body, as a signature is checked over them. */
export interface ReceivedWebhook {
  path: string
  headers: Record<string, string>
  body: string
  at: number
}

/** How a path answers: a status (after `delayMs`) and a body. */
export type Answer = { status: number; delayMs?: number; body?: string }

/**
 * A local HTTP server that records every webhook it gets and answers each path as told
 * (`answer(path, request)`; 204 by default), so tests can play slow, failing and gone receivers.
 */
export const startWebhookReceiver = async (answer: (path: string, request: ReceivedWebhook) => Answer = () => ({ status: 204 })) => {
  const received: ReceivedWebhook[] = []
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const webhook = {
        path: request.url ?? '/',
        headers: Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, String(value)])),
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now()
      }
      received.push(webhook)
      const { status, delayMs = 0, body = '' } = answer(webhook.path, webhook)
      setTimeout(() => response.writeHead(status).end(body), delayMs).unref()
    })
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    received,
    /** What `path` got so far. */
    at: (path: string) => received.filter((webhook) => webhook.path === path),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

export type WebhookReceiver = Awaited<ReturnType<typeof startWebhookReceiver>>
