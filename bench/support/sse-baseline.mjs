// The baseline of bench/sse: better-sse as its documentation shows it, in a process of its own.
// GET /stream opens a session and registers it with one channel; POST /broadcast sends its JSON
// body to every session with the plain `Channel.broadcast` (which serializes once per session).
// Usage: node bench/support/sse-baseline.mjs <port>
import http from 'node:http'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { createChannel, createSession } = require('better-sse')

const port = Number(process.argv[2])
const channel = createChannel()
let lastId = 0

http
  .createServer(async (req, res) => {
    if (req.method === 'GET' && req.url === '/stream') {
      channel.register(await createSession(req, res, { keepAlive: 10_000, trustClientEventId: false }))
      return
    }
    if (req.method === 'POST' && req.url === '/broadcast') {
      let body = ''
      for await (const chunk of req) body += chunk
      const announcement = JSON.parse(body)
      channel.broadcast(announcement, 'announcement', { eventId: String(++lastId) })
      res.writeHead(201, { 'Content-Type': 'application/json' }).end(body)
      return
    }
    res.writeHead(req.url === '/ready' ? 200 : 404).end()
  })
  .listen(port, '127.0.0.1')
