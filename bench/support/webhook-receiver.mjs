// The receiver of bench/webhooks, in a process of its own: answers every POST 204 after reading
// its body, and counts them (GET /count), so the bench and notify-service share no process with it.
// Usage: node bench/support/webhook-receiver.mjs <port>
import http from 'node:http'

const port = Number(process.argv[2])
let received = 0

const server = http.createServer(async (req, res) => {
  if (req.method === 'POST') {
    for await (const _chunk of req);
    received++
    res.writeHead(204).end()
    return
  }
  res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ received }))
})
server.keepAliveTimeout = 60_000
server.listen(port, '127.0.0.1')
