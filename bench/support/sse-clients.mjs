// One client process of bench/sse: holds its share of the SSE connections to each target (one or
// more server processes, taken in turn), over bare TCP sockets (an EventSource, or even node:http,
// per connection would cost this process more than the server being measured), from loopback
// source addresses of its own, taken in turn, and records when each broadcast reached each
// connection, and how many times. Driven by its parent over IPC:
//   {cmd: 'connect', target, urls, first, count, rounds, concurrency, localAddresses, token?: 'buyer', tokenLifetime?}
//                                                                       -> {type: 'connected', ...}
//   a broadcast whose message is `bench:<round>:<sentAt ms> ...`        -> {type: 'delivered', target, round}
//                                                                          once every connection has it
//   {cmd: 'report'}  -> {type: 'report', latencies: {target: {round: [ms, ...]}}, closed: {target: n},
//                        received: {target: {min, max, missing, duplicate}}} (broadcasts per connection)
//   {cmd: 'close'}   -> ends every connection and exits
import net from 'node:net'
import { randomUUID } from 'node:crypto'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { baseDefaults, DEVELOPMENT_SIGNING_KEY, importSigningKey, signAccessToken } = require('@marketmesh/shared')

const MARKER = Buffer.from('bench:')
const COLON = 0x3a
const targets = new Map()
const sockets = new Set()
let signingKey

const targetOf = (name) => {
  if (!targets.has(name)) targets.set(name, { name, open: 0, closed: 0, rounds: new Map(), counts: [] })
  return targets.get(name)
}

/** Reads the number at `from` up to the next colon; undefined when the chunk ends first. */
const numberAt = (buffer, from) => {
  let value = 0
  for (let i = from; i < buffer.length; i++) {
    const byte = buffer[i]
    if (byte === COLON) return { value, end: i }
    value = value * 10 + (byte - 0x30)
  }
  return undefined
}

/** A broadcast arrived on a connection: its latency the first time, and every time its count. */
const received = (target, counts, round, sentAt, at) => {
  if (round >= counts.length || counts[round]++ > 0) return
  let latencies = target.rounds.get(round)
  if (!latencies) target.rounds.set(round, (latencies = []))
  latencies.push(at - sentAt)
  if (latencies.length === target.open) process.send({ type: 'delivered', target: target.name, round })
}

/** Over this process's connections to `target`: the fewest and most broadcasts one got, and how many missed one or got one twice. */
const receivedOf = (target) => {
  let min = Infinity
  let max = 0
  let missing = 0
  let duplicate = 0
  for (const counts of target.counts) {
    const total = counts.reduce((sum, count) => sum + count, 0)
    min = Math.min(min, total)
    max = Math.max(max, total)
    if (counts.includes(0)) missing++
    if (counts.some((count) => count > 1)) duplicate++
  }
  return { min, max, missing, duplicate }
}

const onChunk = (target, state) => (chunk) => {
  const at = Date.now()
  const buffer = state.carry ? Buffer.concat([state.carry, chunk]) : chunk
  state.carry = undefined
  for (let from = buffer.indexOf(MARKER); from !== -1; from = buffer.indexOf(MARKER, from + 1)) {
    const round = numberAt(buffer, from + MARKER.length)
    const sentAt = round && numberAt(buffer, round.end + 1)
    // A message cut by the chunk's end: its rest comes with the next chunk.
    if (!sentAt) {
      state.carry = buffer.subarray(from)
      return
    }
    received(target, state.counts, round.value, sentAt.value, at)
  }
}

const STATUS_OK = Buffer.from('HTTP/1.1 200 ')
const HEADERS_END = Buffer.from('\r\n\r\n')

/**
 * One connection over a bare TCP socket: the request written by hand, the status line checked,
 * then the raw bytes scanned as they come. The chunk-size lines of the chunked encoding never hold
 * the marker, so no HTTP parser or stream is needed per message: what is left per message is
 * this process's floor, not the server's.
 */
const connectOne = (target, url, localAddress, rounds, headers) =>
  new Promise((resolve) => {
    const { hostname, port, pathname } = new URL(url)
    const socket = net.connect({ host: hostname, port: Number(port), localAddress })
    const request = [
      `GET ${pathname} HTTP/1.1`,
      `Host: ${hostname}:${port}`,
      'Accept: text/event-stream',
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)
    ]
    socket.setNoDelay(true)
    socket.once('connect', () => socket.write(`${request.join('\r\n')}\r\n\r\n`))
    socket.once('error', (error) => resolve(error.message))
    let head = Buffer.alloc(0)
    const onHead = (chunk) => {
      head = Buffer.concat([head, chunk])
      const end = head.indexOf(HEADERS_END)
      if (end === -1) return
      socket.off('data', onHead)
      if (!head.subarray(0, STATUS_OK.length).equals(STATUS_OK)) {
        socket.destroy()
        return resolve(`HTTP ${head.subarray(9, 12).toString()}`)
      }
      target.open++
      sockets.add(socket)
      // Per broadcast round, how many times it came (saturating at 255: still a duplicate).
      const counts = new Uint8Array(rounds)
      target.counts.push(counts)
      const scan = onChunk(target, { counts })
      socket.on('data', scan)
      socket.once('close', () => {
        target.closed++
        sockets.delete(socket)
      })
      const rest = head.subarray(end + HEADERS_END.length)
      if (rest.length > 0) scan(rest)
      resolve(undefined)
    }
    socket.on('data', onHead)
  })

const connect = async ({ target: name, urls, first, count, rounds, concurrency, localAddresses, token, tokenLifetime }) => {
  const jwt = { ...baseDefaults.jwt, accessTokenExpiresIn: tokenLifetime ?? baseDefaults.jwt.accessTokenExpiresIn }
  const target = targetOf(name)
  signingKey ??= await importSigningKey(DEVELOPMENT_SIGNING_KEY)
  const failures = new Map()
  let next = 0
  const started = Date.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        // Connections go to the target's servers in turn, this process's first to `urls[first]`.
        const url = urls[(first + next) % urls.length]
        const localAddress = localAddresses[next++ % localAddresses.length]
        const headers = token ? { Authorization: `Bearer ${await signAccessToken(signingKey, { sub: randomUUID(), role: token }, jwt)}` } : {}
        const failure = await connectOne(target, url, localAddress, rounds, headers)
        if (failure) failures.set(failure, (failures.get(failure) ?? 0) + 1)
      }
    })
  )
  process.send({ type: 'connected', target: name, open: target.open, failures: Object.fromEntries(failures), ms: Date.now() - started })
}

process.on('message', async (message) => {
  if (message.cmd === 'connect') await connect(message)
  if (message.cmd === 'report') {
    const latencies = {}
    const closed = {}
    const perConnection = {}
    for (const [name, target] of targets) {
      latencies[name] = Object.fromEntries(target.rounds)
      closed[name] = target.closed
      perConnection[name] = receivedOf(target)
    }
    process.send({ type: 'report', latencies, closed, received: perConnection })
  }
  if (message.cmd === 'close') {
    for (const socket of sockets) socket.destroy()
    process.exit(0)
  }
})
