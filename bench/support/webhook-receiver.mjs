// The receiver of bench/webhooks (and of bench/soak's endpoint), in a process of its own: answers
// every POST 204 after reading its body, and counts them. `GET /count` answers the count at once;
// `GET /count?atLeast=n` once it reaches n, so that the bench waits without polling the process it
// measures beside. Usage: node bench/support/webhook-receiver.mjs <port>
import http from 'node:http'

const port = Number(process.argv[2])
let received = 0
/** Answers held until the count reaches their `atLeast`. */
let waiting = []

const answer = (res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ received }))

const server = http.createServer(async (req, res) => {
  if (req.method === 'POST') {
    for await (const _chunk of req);
    received++
    res.writeHead(204).end()
    if (waiting.length > 0) {
      const reached = waiting.filter(({ atLeast }) => atLeast <= received)
      waiting = waiting.filter(({ atLeast }) => atLeast > received)
      for (const { res: held } of reached) answer(held)
    }
    return
  }
  const atLeast = Number(new URL(req.url, 'http://receiver').searchParams.get('atLeast') ?? 0)
  if (atLeast > received) waiting.push({ atLeast, res })
  else answer(res)
})
server.keepAliveTimeout = 60_000
server.requestTimeout = 0
server.listen(port, '127.0.0.1')
