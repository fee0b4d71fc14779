// The floor of bench/sse: what this machine allows with nothing but the sockets. node:http holds
// each GET /stream open; POST /broadcast frames its body once as an SSE message and writes that
// one buffer to every open response. No database, no library, no per-client work: a server that
// does anything real cannot beat it, so its p99 bounds what the target can ask of this machine.
// Usage: node bench/support/sse-floor.mjs <port>
import http from 'node:http'

const port = Number(process.argv[2])
const open = new Set()
let lastId = 0

http
  .createServer(async (req, res) => {
    if (req.method === 'GET' && req.url === '/stream') {
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' })
      res.write(':ok\n\n')
      open.add(res)
      res.on('close', () => open.delete(res))
      return
    }
    if (req.method === 'POST' && req.url === '/broadcast') {
      let body = ''
      for await (const chunk of req) body += chunk
      const frame = Buffer.from(`id: ${++lastId}\nevent: announcement\ndata: ${JSON.stringify(JSON.parse(body))}\n\n`)
      for (const response of open) response.write(frame)
      res.writeHead(201, { 'Content-Type': 'application/json' }).end(body)
      return
    }
    res.writeHead(req.url === '/ready' ? 200 : 404).end()
  })
  .listen(port, '127.0.0.1')
