// bench/sse: 10,000 SSE connections to one notify-service process, held by client processes of
// their own (bench/support/sse-clients.mjs), then announcements broadcast to all of them; and in
// the same run the same 10,000 connections to a process broadcasting with better-sse's plain
// `Channel.broadcast` (bench/support/sse-baseline.mjs), the baseline, and to the floor: node:http
// writing one pre-framed buffer to every socket (bench/support/sse-floor.mjs), what the machine
// allows at all with the clients on it. The broadcasts alternate between the targets, so that a
// noisy neighbour on the machine hits all alike. Each message carries the time the bench sent its
// POST; the clients, on the same machine and clock, take its latency on arrival. notify-service's includes the write to the log, its commit, NOTIFY and the read back.
// Prints connect time, RSS per connection (the server's RSS delta / connections), delivery
// latency p50/p99 across all clients, and how many broadcasts each client got (each must get each
// once). Target: p99 < 100 ms for a broadcast to 10,000 clients, <= 20 KB RSS per connection, and
// a p99 below the baseline's.
// With --instances N: 100,000 connections (by default) over N notify-service processes on one
// database, each broadcast POSTed to one of them and carried to the others by the log's NOTIFY,
// against a floor of N floor processes holding as many connections (each broadcast POSTed to all
// of them at once); no baseline. A process here may hold 20,000 open files: the clients take as
// many processes as that needs, each from loopback source addresses of its own (127.0.x.y; see
// CONNECTIONS_PER_SOURCE_ADDRESS). Target: <= 20 KB RSS per connection (the notify
// processes' RSS growth, summed, over the connections) and a p99 <= 1.25x the floor's.
// Usage: node bench/sse.mjs [connections] [rounds=10] [client processes=2] [--instances N]   (after `npm run build`)
// SSE_BENCH_CPU_PROF=<dir> runs notify-service with --cpu-prof, its profile written there at the end.
import { fork, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { benchRun } from './support/bench-run.mjs'
import { ensureOpenFiles, freePort, waitUntil } from './support/processes.mjs'

const { values: flags, positionals } = parseArgs({ options: { instances: { type: 'string', default: '1' } }, allowPositionals: true })
const INSTANCES = Number(flags.instances)
const CONNECTIONS = Number(positionals[0] ?? (INSTANCES > 1 ? 100_000 : 10_000))
const ROUNDS = Number(positionals[1] ?? 10)
const WARM_UP_ROUNDS = 2
// Connections one process may hold: a process here may have 20,000 open files, less what it
// needs of its own (modules, PostgreSQL, RabbitMQ, IPC).
const CONNECTIONS_PER_PROCESS = 19_000
// A client socket bound to a source address takes a port of its own there (bind, before connect).
// Linux looks for a free one in a scan that slows as the address's ports fill (past some 10,000 a
// connection took 13 ms of system time): a few thousand per address keep it instant.
const CONNECTIONS_PER_SOURCE_ADDRESS = 2_000
// The baseline is one better-sse process: beside N instances it would only add connections.
const withBaseline = INSTANCES === 1
const TARGETS = withBaseline ? 3 : 2
// As many as the cores, more only when the open files ask for it: more add context switches to what the clients cost.
const CLIENT_PROCESSES = Math.max(Number(positionals[2] ?? 2), Math.ceil((CONNECTIONS * TARGETS) / CONNECTIONS_PER_PROCESS))
const perInstance = Math.ceil(CONNECTIONS / INSTANCES)
const perClient = Math.ceil((CONNECTIONS * TARGETS) / CLIENT_PROCESSES)
if (perInstance > CONNECTIONS_PER_PROCESS)
  throw new Error(`${perInstance} connections per instance: more than one process may hold (${CONNECTIONS_PER_PROCESS}); use more --instances`)
// Connections being opened at once by each client process.
const CONNECT_CONCURRENCY = 50
const DELIVERY_TIMEOUT_MS = 30_000
const PAUSE_MS = 300
// An announcement of a realistic size: some 250 bytes on the wire.
const PADDING = 'Scheduled maintenance tonight from 22:00 UTC, checkout stays open.'
// Streams end when their access token expires (15 min by default): the connect of a big run takes longer.
const TOKEN_LIFETIME = '2h'
// Each instance's pool: six of them with the default 10 would take most of PostgreSQL's 100 connections.
const POOL_PER_INSTANCE = 5

if (await ensureOpenFiles(Math.max(perInstance, perClient) + 1_000)) process.exit()

const require = createRequire(import.meta.url)
const { baseDefaults, DEVELOPMENT_SIGNING_KEY, importSigningKey, signAccessToken } = require('@marketmesh/shared')
const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const run = benchRun('sse')

const rssKb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1])
const rssOf = (servers) => servers.reduce((sum, server) => sum + rssKb(server.child.pid), 0)
const RSS_SAMPLE_MS = 500
/**
 * The idle RSS of `servers`, summed: the lowest each shows until `done` settles. Just after its
 * start a Node process keeps the new space its start-up grew (up to 128 MB here) until its first
 * full GC, which only the connections bring: its RSS then is not its idle size. The lowest may
 * hold the few connections open by then, which only understates the growth by theirs.
 */
const idleRssOf = async (servers, done) => {
  const lowest = servers.map((server) => rssKb(server.child.pid))
  const sampler = setInterval(() => servers.forEach((server, i) => (lowest[i] = Math.min(lowest[i], rssKb(server.child.pid)))), RSS_SAMPLE_MS)
  await done.finally(() => clearInterval(sampler))
  return lowest.reduce((sum, kb) => sum + kb, 0)
}
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
const ms = (value) => `${value.toFixed(1)} ms`
/** The i-th of `parts` near-equal parts of `total`. */
const share = (total, parts, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0)

const servers = []
const startServer = async (name, args, env, execArgv = []) => {
  const port = await freePort()
  const child = run.spawned(
    spawn(process.execPath, [...execArgv, ...args(port)], {
      cwd: root,
      env: { ...process.env, ...env(port) },
      stdio: ['ignore', 'ignore', 'inherit']
    })
  )
  const server = { name, child, url: `http://127.0.0.1:${port}` }
  servers.push(server)
  await waitUntil(async () => (await fetch(`${server.url}/ready`)).status === 200, `${name} ready`)
  return server
}

// Replies of the client processes: what each is waiting for, by key.
const waiting = new Map()
const expectReplies = (key, count) => {
  let entry = waiting.get(key)
  if (!entry) {
    let settle
    const done = new Promise((resolve) => (settle = resolve))
    waiting.set(key, (entry = { count, replies: [], done, settle }))
  }
  return entry
}
const replied = (key, reply) => {
  const entry = expectReplies(key, CLIENT_PROCESSES)
  entry.replies.push(reply)
  if (entry.replies.length === entry.count) entry.settle(entry.replies)
}
const repliesOf = async (key, timeoutMs) => {
  const entry = expectReplies(key, CLIENT_PROCESSES)
  let timer
  const timeout = new Promise((resolve) => (timer = setTimeout(() => resolve(entry.replies), timeoutMs)))
  const replies = await Promise.race([entry.done, timeout])
  clearTimeout(timer)
  return replies
}

const expectCreated = async (name, response) => {
  if (response.status !== 201) throw new Error(`${name}: broadcast answered ${response.status} ${await response.text()}`)
}

const clients = []
try {
  const cpuProfile = process.env.SSE_BENCH_CPU_PROF
  const startNotify = (i) =>
    startServer(
      `notify-service ${i}`,
      () => [join(root, 'packages/notify-service/lib/src/index.js')],
      (port) => ({
        DATABASE_URL: run.connection,
        DATABASE_POOL_MAX: String(POOL_PER_INSTANCE),
        AMQP_PREFIX: run.prefix,
        PORT: String(port),
        // Its /metrics on any free port: port + 1000 may be taken.
        OPS_PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        JWT_EXPIRES_IN: TOKEN_LIFETIME,
        // The bench's streams come from a few addresses.
        STREAM_LIMIT_PER_ADDRESS: String(CONNECTIONS)
      }),
      cpuProfile ? ['--cpu-prof', '--cpu-prof-dir', resolve(cpuProfile)] : []
    )
  // The first creates the database and migrates it; the others find it done.
  const notify = [await startNotify(0)]
  notify.push(...(await Promise.all(Array.from({ length: INSTANCES - 1 }, (_, i) => startNotify(i + 1)))))
  const startFloor = (i) =>
    startServer(
      `floor ${i}`,
      (port) => [join(here, 'support', 'sse-floor.mjs'), String(port)],
      () => ({})
    )
  const floor = await Promise.all(Array.from({ length: INSTANCES }, (_, i) => startFloor(i)))
  for (let i = 0; i < CLIENT_PROCESSES; i++) {
    const client = run.spawned(fork(join(here, 'support', 'sse-clients.mjs'), [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }))
    client.on('message', (message) => {
      if (message.type === 'delivered') replied(`delivered ${message.target} ${message.round}`, message)
      else if (message.type === 'connected') replied(`connected ${message.target}`, message)
      else replied(message.type, message)
    })
    clients.push(client)
  }

  const admin = await signAccessToken(
    await importSigningKey(DEVELOPMENT_SIGNING_KEY),
    { sub: randomUUID(), role: 'admin' },
    { ...baseDefaults.jwt, accessTokenExpiresIn: TOKEN_LIFETIME }
  )
  const postTo = (server, path, body, headers = {}) =>
    fetch(`${server.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) })
  const announcement = (message) => ({ id: randomUUID(), message, level: 'info', endsAt: null, createdAt: new Date().toISOString() })
  const targets = [
    {
      name: INSTANCES > 1 ? `notify-service ×${INSTANCES}` : 'notify-service',
      servers: notify,
      token: 'buyer',
      // To one instance: the log's NOTIFY wakes every instance's tail.
      broadcast: async (message, name) =>
        expectCreated(name, await postTo(notify[0], '/announcements', { message, level: 'info' }, { Authorization: `Bearer ${admin}` }))
    }
  ]
  if (withBaseline) {
    const baseline = await startServer(
      'better-sse Channel.broadcast',
      (port) => [join(here, 'support', 'sse-baseline.mjs'), String(port)],
      () => ({})
    )
    targets.push({
      name: baseline.name,
      servers: [baseline],
      broadcast: async (message, name) => expectCreated(name, await postTo(baseline, '/broadcast', announcement(message)))
    })
  }
  targets.push({
    name: INSTANCES > 1 ? `floor ×${INSTANCES}: node:http, one buffer` : 'floor: node:http, one buffer',
    servers: floor,
    // To every floor process at once, the same message.
    broadcast: async (message, name) => {
      const body = announcement(message)
      for (const response of await Promise.all(floor.map((server) => postTo(server, '/broadcast', body)))) await expectCreated(name, response)
    }
  })

  console.log(
    `bench/sse: ${CONNECTIONS} SSE connections to each target (${INSTANCES} server process${INSTANCES > 1 ? 'es' : ''} each) from ${CLIENT_PROCESSES} client processes, ${ROUNDS} broadcasts to each (alternating, after ${WARM_UP_ROUNDS} warm-up)`
  )
  for (const target of targets) {
    const started = Date.now()
    let first = 0
    clients.forEach((client, i) => {
      const count = share(CONNECTIONS, CLIENT_PROCESSES, i)
      client.send({
        cmd: 'connect',
        target: target.name,
        urls: target.servers.map((server) => `${server.url}/stream`),
        first,
        count,
        rounds: WARM_UP_ROUNDS + ROUNDS,
        concurrency: CONNECT_CONCURRENCY,
        localAddresses: Array.from({ length: Math.ceil(perClient / CONNECTIONS_PER_SOURCE_ADDRESS) }, (_, j) => `127.0.${1 + i}.${1 + j}`),
        token: target.token,
        tokenLifetime: TOKEN_LIFETIME
      })
      first += count
    })
    const connected = repliesOf(`connected ${target.name}`, 1_800_000)
    target.rssBefore = await idleRssOf(target.servers, connected)
    const replies = await connected
    target.connectMs = Date.now() - started
    target.open = replies.reduce((sum, reply) => sum + reply.open, 0)
    const failures = replies.flatMap((reply) => Object.entries(reply.failures))
    if (target.open < CONNECTIONS)
      throw new Error(`${target.name}: ${target.open} of ${CONNECTIONS} connections opened; failures: ${JSON.stringify(failures)}`)
    console.log(`  ${target.name}: ${target.open} connections open in ${(target.connectMs / 1000).toFixed(1)} s`)
  }
  await new Promise((resolve) => setTimeout(resolve, 2_000))
  for (const target of targets) target.rssConnected = rssOf(target.servers)

  for (let round = 0; round < WARM_UP_ROUNDS + ROUNDS; round++) {
    for (const target of targets) {
      await target.broadcast(`bench:${round}:${Date.now()}: ${PADDING}`, target.name)
      const delivered = await repliesOf(`delivered ${target.name} ${round}`, DELIVERY_TIMEOUT_MS)
      if (delivered.length < CLIENT_PROCESSES)
        console.log(`  ${target.name}: broadcast ${round} did not reach every connection within ${DELIVERY_TIMEOUT_MS} ms`)
      await new Promise((resolve) => setTimeout(resolve, PAUSE_MS))
    }
  }
  for (const target of targets) target.rssAfter = rssOf(target.servers)

  for (const client of clients) client.send({ cmd: 'report' })
  const reports = await repliesOf('report', 60_000)
  for (const target of targets) {
    const name = target.name
    const perRound = []
    for (let round = WARM_UP_ROUNDS; round < WARM_UP_ROUNDS + ROUNDS; round++) {
      perRound.push(reports.flatMap((report) => report.latencies[name][round] ?? []).sort((a, b) => a - b))
    }
    const all = perRound.flat().sort((a, b) => a - b)
    target.deliveries = all.length
    target.closed = reports.reduce((sum, report) => sum + report.closed[name], 0)
    const received = reports.map((report) => report.received[name])
    target.received = {
      min: Math.min(...received.map(({ min }) => min)),
      max: Math.max(...received.map(({ max }) => max)),
      missing: received.reduce((sum, { missing }) => sum + missing, 0),
      duplicate: received.reduce((sum, { duplicate }) => sum + duplicate, 0)
    }
    target.exactlyOnce = target.received.missing === 0 && target.received.duplicate === 0
    target.p50 = percentile(all, 50)
    target.p99 = percentile(all, 99)
    target.roundP99s = perRound.map((latencies) => percentile(latencies, 99))
    target.lastDelivery = median(perRound.map((latencies) => latencies.at(-1)))
    target.rssPerConnection = (Math.max(target.rssConnected, target.rssAfter) - target.rssBefore) / target.open
  }

  for (const target of targets) {
    const { min, max, missing, duplicate } = target.received
    console.log(
      `  ${target.name.padEnd(29)} connect ${target.open} in ${(target.connectMs / 1000).toFixed(1)} s (${Math.round(target.open / (target.connectMs / 1000))}/s)   RSS ${Math.round(target.rssBefore / 1024)} -> ${Math.round(target.rssConnected / 1024)} -> ${Math.round(target.rssAfter / 1024)} MB = ${target.rssPerConnection.toFixed(1)} KB/connection`
    )
    console.log(
      `  ${''.padEnd(29)} ${target.deliveries}/${ROUNDS * CONNECTIONS} delivered, ${target.closed} connections lost   latency p50 ${ms(target.p50)}   p99 ${ms(target.p99)}   last delivery (median) ${ms(target.lastDelivery)}   p99 per broadcast: ${target.roundP99s.map((p) => p.toFixed(0)).join(', ')} ms`
    )
    console.log(
      `  ${''.padEnd(29)} broadcasts per client: min ${min}, max ${max} of ${WARM_UP_ROUNDS + ROUNDS}; clients with one missing ${missing}, with one twice ${duplicate}`
    )
  }
  const [service] = targets
  const bare = targets.at(-1)
  const verdict = (met) => (met ? 'met' : 'NOT met')
  console.log(
    `every client every broadcast exactly once: ${service.name} min ${service.received.min} / max ${service.received.max} of ${WARM_UP_ROUNDS + ROUNDS}, ${service.received.missing} clients missing one, ${service.received.duplicate} with a duplicate -> ${verdict(service.exactlyOnce)}`
  )
  console.log(
    `RSS per connection ${service.rssPerConnection.toFixed(1)} KB (${service.name}: ${Math.round(service.rssBefore / 1024)} MB idle (lowest before the last connection), +${Math.round((Math.max(service.rssConnected, service.rssAfter) - service.rssBefore) / 1024)} MB for ${service.open} connections; target <= 20 KB) -> ${verdict(service.rssPerConnection <= 20)}`
  )
  const toFloor = service.p99 / bare.p99
  if (withBaseline) {
    const plain = targets[1]
    console.log(`p99 notify-service ${ms(service.p99)} (target < 100 ms) -> ${verdict(service.exactlyOnce && service.p99 < 100)}`)
    const ratio = service.p99 / plain.p99
    console.log(`ratio p99 notify-service/baseline: ${ratio.toFixed(2)}   target: < 1 -> ${verdict(service.exactlyOnce && ratio < 1)}`)
    console.log(
      `floor of this machine (sockets only, same clients): p99 ${ms(bare.p99)}; notify-service/floor ${toFloor.toFixed(2)}` +
        (bare.p99 >= 100 ? '   (the floor itself is above 100 ms: the p99 target cannot be met on this machine)' : '')
    )
  } else {
    console.log(
      `p99 ${service.name} ${ms(service.p99)} against the floor at the same size ${ms(bare.p99)}: ${toFloor.toFixed(2)}× (target <= 1.25×) -> ${verdict(service.exactlyOnce && toFloor <= 1.25)}`
    )
  }
} finally {
  // The servers first: they end their streams, where clients that left first reset them (each a logged ECONNRESET).
  await Promise.all(
    servers.map(async ({ child }) => {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      // SIGTERM: a graceful exit, which writes the CPU profile.
      child.kill('SIGTERM')
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))])
      child.kill('SIGKILL')
    })
  )
  for (const client of clients) if (client.connected) client.send({ cmd: 'close' })
  await run.remove()
}
