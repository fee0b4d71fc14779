// bench/sse: 10,000 SSE connections to one notify-service process, held by client processes of
// their own (bench/support/sse-clients.mjs), then announcements broadcast to all of them; and in
// the same run the same 10,000 connections to a process broadcasting with better-sse's plain
// `Channel.broadcast` (bench/support/sse-baseline.mjs), the baseline, and to the floor: node:http
// writing one pre-framed buffer to every socket (bench/support/sse-floor.mjs), what the machine
// allows at all with the clients on it. The broadcasts alternate between the three, so that a
// noisy neighbour on the machine hits all alike. Each message carries the time the bench sent its
// POST; the clients, on the same machine and clock, take its latency on arrival. notify-service's includes the write to the log, its commit, NOTIFY and the read back.
// Prints connect time, RSS per connection (the server's RSS delta / connections) and delivery
// latency p50/p99 across all clients. Target: p99 < 100 ms for a broadcast to 10,000 clients,
// <= 20 KB RSS per connection, and a p99 below the baseline's.
// Usage: node bench/sse.mjs [connections=10000] [rounds=10] [client processes=2]   (after `npm run build`)
// SSE_BENCH_CPU_PROF=<dir> runs notify-service with --cpu-prof, its profile written there at the end.
import { fork, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { benchRun } from './support/bench-run.mjs'
import { ensureOpenFiles, freePort, waitUntil } from './support/processes.mjs'

const CONNECTIONS = Number(process.argv[2] ?? 10_000)
const ROUNDS = Number(process.argv[3] ?? 10)
// As many as the cores: more only add context switches to what the clients cost.
const CLIENT_PROCESSES = Number(process.argv[4] ?? 2)
const WARM_UP_ROUNDS = 2
// Connections being opened at once by each client process.
const CONNECT_CONCURRENCY = 50
const DELIVERY_TIMEOUT_MS = 30_000
const PAUSE_MS = 300
// An announcement of a realistic size: some 250 bytes on the wire.
const PADDING = 'Scheduled maintenance tonight from 22:00 UTC, checkout stays open.'

if (await ensureOpenFiles(CONNECTIONS + 1_000)) process.exit()

const require = createRequire(import.meta.url)
const { baseDefaults, DEVELOPMENT_SIGNING_KEY, importSigningKey, signAccessToken } = require('@marketmesh/shared')
const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..')
const run = benchRun('sse')

const rssKb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1])
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
const ms = (value) => `${value.toFixed(1)} ms`

const startServer = async (name, args, env, execArgv = []) => {
  const port = await freePort()
  const child = spawn(process.execPath, [...execArgv, ...args(port)], {
    cwd: root,
    env: { ...process.env, ...env(port) },
    stdio: ['ignore', 'ignore', 'inherit']
  })
  const url = `http://127.0.0.1:${port}`
  await waitUntil(async () => (await fetch(`${url}/ready`)).status === 200, `${name} ready`)
  return { name, child, url }
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

const servers = []
const clients = []
try {
  const cpuProfile = process.env.SSE_BENCH_CPU_PROF
  const notify = await startServer(
    'notify-service',
    () => [join(root, 'packages/notify-service/lib/src/index.js')],
    (port) => ({
      DATABASE_URL: run.connection,
      AMQP_PREFIX: run.prefix,
      PORT: String(port),
      // Its /metrics on any free port: port + 1000 may be taken.
      OPS_PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      // Every stream of the bench comes from this one address.
      STREAM_LIMIT_PER_ADDRESS: String(CONNECTIONS)
    }),
    cpuProfile ? ['--cpu-prof', '--cpu-prof-dir', resolve(cpuProfile)] : []
  )
  servers.push(notify)
  const baseline = await startServer(
    'better-sse Channel.broadcast',
    (port) => [join(here, 'support', 'sse-baseline.mjs'), String(port)],
    () => ({})
  )
  servers.push(baseline)
  const floor = await startServer(
    'floor: node:http, one buffer',
    (port) => [join(here, 'support', 'sse-floor.mjs'), String(port)],
    () => ({})
  )
  servers.push(floor)
  for (let i = 0; i < CLIENT_PROCESSES; i++) {
    const client = fork(join(here, 'support', 'sse-clients.mjs'), [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    client.on('message', (message) => {
      if (message.type === 'delivered') replied(`delivered ${message.target} ${message.round}`, message)
      else if (message.type === 'connected') replied(`connected ${message.target}`, message)
      else replied(message.type, message)
    })
    clients.push(client)
  }

  const admin = await signAccessToken(await importSigningKey(DEVELOPMENT_SIGNING_KEY), { sub: randomUUID(), role: 'admin' }, baseDefaults.jwt)
  const targets = [
    {
      server: notify,
      token: 'buyer',
      broadcast: (message) =>
        fetch(`${notify.url}/announcements`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${admin}` },
          body: JSON.stringify({ message, level: 'info' })
        })
    },
    ...[baseline, floor].map((server) => ({
      server,
      broadcast: (message) =>
        fetch(`${server.url}/broadcast`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ id: randomUUID(), message, level: 'info', endsAt: null, createdAt: new Date().toISOString() })
        })
    }))
  ]

  console.log(
    `bench/sse: ${CONNECTIONS} SSE connections to each server from ${CLIENT_PROCESSES} client processes, ${ROUNDS} broadcasts to each (alternating, after ${WARM_UP_ROUNDS} warm-up)`
  )
  for (const target of targets) {
    const name = target.server.name
    target.rssBefore = rssKb(target.server.child.pid)
    const started = Date.now()
    clients.forEach((client, i) => {
      const count = Math.floor(CONNECTIONS / CLIENT_PROCESSES) + (i < CONNECTIONS % CLIENT_PROCESSES ? 1 : 0)
      client.send({ cmd: 'connect', target: name, url: `${target.server.url}/stream`, count, concurrency: CONNECT_CONCURRENCY, token: target.token })
    })
    const replies = await repliesOf(`connected ${name}`, 600_000)
    target.connectMs = Date.now() - started
    target.open = replies.reduce((sum, reply) => sum + reply.open, 0)
    const failures = replies.flatMap((reply) => Object.entries(reply.failures))
    if (target.open < CONNECTIONS)
      throw new Error(`${name}: ${target.open} of ${CONNECTIONS} connections opened; failures: ${JSON.stringify(failures)}`)
  }
  await new Promise((resolve) => setTimeout(resolve, 2_000))
  for (const target of targets) target.rssConnected = rssKb(target.server.child.pid)

  for (let round = 0; round < WARM_UP_ROUNDS + ROUNDS; round++) {
    for (const target of targets) {
      const name = target.server.name
      const sentAt = Date.now()
      const response = await target.broadcast(`bench:${round}:${sentAt}: ${PADDING}`)
      if (response.status !== 201) throw new Error(`${name}: broadcast answered ${response.status} ${await response.text()}`)
      const delivered = await repliesOf(`delivered ${name} ${round}`, DELIVERY_TIMEOUT_MS)
      if (delivered.length < CLIENT_PROCESSES)
        console.log(`  ${name}: broadcast ${round} did not reach every connection within ${DELIVERY_TIMEOUT_MS} ms`)
      await new Promise((resolve) => setTimeout(resolve, PAUSE_MS))
    }
  }
  for (const target of targets) target.rssAfter = rssKb(target.server.child.pid)

  for (const client of clients) client.send({ cmd: 'report' })
  const reports = await repliesOf('report', 60_000)
  for (const target of targets) {
    const name = target.server.name
    const perRound = []
    for (let round = WARM_UP_ROUNDS; round < WARM_UP_ROUNDS + ROUNDS; round++) {
      perRound.push(reports.flatMap((report) => report.latencies[name][round] ?? []).sort((a, b) => a - b))
    }
    const all = perRound.flat().sort((a, b) => a - b)
    target.deliveries = all.length
    target.closed = reports.reduce((sum, report) => sum + report.closed[name], 0)
    target.p50 = percentile(all, 50)
    target.p99 = percentile(all, 99)
    target.roundP99s = perRound.map((latencies) => percentile(latencies, 99))
    target.lastDelivery = median(perRound.map((latencies) => latencies.at(-1)))
    target.rssPerConnection = (Math.max(target.rssConnected, target.rssAfter) - target.rssBefore) / target.open
  }

  for (const target of targets) {
    console.log(
      `  ${target.server.name.padEnd(29)} connect ${target.open} in ${(target.connectMs / 1000).toFixed(1)} s (${Math.round(target.open / (target.connectMs / 1000))}/s)   RSS ${Math.round(target.rssBefore / 1024)} -> ${Math.round(target.rssConnected / 1024)} -> ${Math.round(target.rssAfter / 1024)} MB = ${target.rssPerConnection.toFixed(1)} KB/connection`
    )
    console.log(
      `  ${''.padEnd(29)} ${target.deliveries}/${ROUNDS * CONNECTIONS} delivered, ${target.closed} connections lost   latency p50 ${ms(target.p50)}   p99 ${ms(target.p99)}   last delivery (median) ${ms(target.lastDelivery)}   p99 per broadcast: ${target.roundP99s.map((p) => p.toFixed(0)).join(', ')} ms`
    )
  }
  const [service, plain, bare] = targets
  const complete = service.deliveries === ROUNDS * CONNECTIONS
  const verdict = (met) => (met ? 'met' : 'NOT met')
  console.log(`p99 notify-service ${ms(service.p99)} (target < 100 ms) -> ${verdict(complete && service.p99 < 100)}`)
  console.log(`RSS per connection ${service.rssPerConnection.toFixed(1)} KB (target <= 20 KB) -> ${verdict(service.rssPerConnection <= 20)}`)
  const ratio = service.p99 / plain.p99
  console.log(`ratio p99 notify-service/baseline: ${ratio.toFixed(2)}   target: < 1 -> ${verdict(complete && ratio < 1)}`)
  console.log(
    `floor of this machine (sockets only, same clients): p99 ${ms(bare.p99)}; notify-service/floor ${(service.p99 / bare.p99).toFixed(2)}` +
      (bare.p99 >= 100 ? '   (the floor itself is above 100 ms: the p99 target cannot be met on this machine)' : '')
  )
} finally {
  for (const client of clients) if (client.connected) client.send({ cmd: 'close' })
  for (const { child } of servers) {
    const exited = new Promise((resolve) => child.once('exit', resolve))
    // SIGTERM: a graceful exit, which writes the CPU profile.
    child.kill('SIGTERM')
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))])
    child.kill('SIGKILL')
  }
  await run.remove()
}
