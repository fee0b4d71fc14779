// bench/soak: the whole mesh (user, catalog, order and notify services, each its own process) under
// a steady load for a long time: checkouts at about half the capacity measured at the start (or
// at --rate), with searches, buyers' SSE streams, receipt printers (SSE devices and CloudPRNT
// pollers) and a webhook endpoint (bench/support/webhook-receiver.mjs) alongside.
// Prints, per minute: orders/s and commits per order; CPU per order of the services, of the
// PostgreSQL backends and autovacuum workers of the run's databases ("db"), of every PostgreSQL
// process and of RabbitMQ (both shared with whatever else runs); outbox lag (rows not yet
// published) and consumer lag (messages in the consumers' queues); each service's RSS and
// event-loop delay p99 (its /metrics); errors (non-2xx answers, of which 5xx). And the growth of
// the queue-like tables (live and dead rows, size, autovacuums).
// Verdict, after the warm-up: RSS flat within 10%, no 5xx, no growing lag, commits and db CPU per
// order flat (the last minute against the first after the warm-up); at the end every order final
// (paid, rejected or cancelled) and the ledger's trial balance 0.
// Usage: node bench/soak.mjs [minutes=30] [--rate orders/s | --buyers 16] [--warm-up minutes]   (after `npm run build`)
// Interrupted (SIGINT), it stops and removes its databases, queues and exchanges as at its end.
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createParser } from 'eventsource-parser'
import { Agent, fetch as streamFetch } from 'undici'
import { benchMesh, json, listenForOutcomes, openMarket } from './support/mesh.mjs'
import { cpuSecondsOf, freePort, waitUntil } from './support/processes.mjs'

const require = createRequire(import.meta.url)
const pg = require('pg')
const amqplib = require('amqplib')
const { consumerQueueNames, EVENT_CONSUMERS } = require('@marketmesh/events')
const { baseDefaults, DEVELOPMENT_SIGNING_KEY, importSigningKey, signAccessToken } = require('@marketmesh/shared')

const { values: options, positionals } = parseArgs({
  allowPositionals: true,
  options: { rate: { type: 'string' }, buyers: { type: 'string', default: '16' }, 'warm-up': { type: 'string' } }
})
const MINUTES = Number(positionals[0] ?? 30)
/** Every service's access-token lifetime in the run, and the admin's token's: longer than the run. */
const TOKEN_LIFETIME = `${MINUTES + 60}m`
const CAPACITY_BUYERS = Number(options.buyers)
const CAPACITY_SECONDS = 20
const WARM_UP = Number(options['warm-up'] ?? (MINUTES >= 10 ? 2 : 1))
const SELLERS = 4
const PRODUCTS_PER_SELLER = 5
const BUYERS = 32
const SEARCHES_PER_SECOND = 2
const CLOUDPRNT_POLL_MS = 2_000
const MAX_IN_FLIGHT = 500
const FINAL = ['paid', 'rejected', 'cancelled']
// The tables that take rows (and dead rows) with every order: what must not make an order dearer as they grow.
const HOT_TABLES = ['outbox', 'processed_events', 'side_effects', 'tombstones', 'notifications', 'print_jobs', 'webhook_deliveries']
// The consumers that have a queue: those bound to some event type.
const CONSUMING = Object.keys(EVENT_CONSUMERS).filter((consumer) => EVENT_CONSUMERS[consumer].length > 0)
const amqpUrl = process.env.AMQP_URL ?? baseDefaults.amqp.url
const here = dirname(fileURLToPath(import.meta.url))

const mesh = benchMesh('soak')
/** The URL of `database` on the run's PostgreSQL server. */
const databaseUrl = (database) => mesh.services[0].database.replace(/[^/]*$/, database)
const mailDirectory = mkdtempSync(join(tmpdir(), 'mmbench-soak-mail-'))
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const mb = (bytes) => Math.round(bytes / 2 ** 20)
const perOrder = (seconds, orders) => (orders > 0 ? ((seconds * 1000) / orders).toFixed(1) : '-')

/**
 * A connected client of `url`. The machine's PostgreSQL is shared and its connections may all be
 * taken for a while ("too many clients"): tried again for up to a minute.
 */
const connected = async (url) => {
  for (let attempt = 1; ; attempt++) {
    const client = new pg.Client({ connectionString: url })
    // A connection the server ends (an administrator's command, a restart) fails its next query, not the run.
    client.on('error', () => undefined)
    try {
      await client.connect()
      return client
    } catch (error) {
      if (error.code !== '53300' || attempt === 60) throw error
      await sleep(1_000)
    }
  }
}

/** Answers counted by minute: non-2xx (a network error counts) and, of those, 5xx. */
const errors = { non2xx: 0, server: 0, kinds: new Map() }
const counted = async (url, init = {}, dispatcher) => {
  try {
    const response = await (dispatcher ? streamFetch(url, { ...init, dispatcher }) : fetch(url, init))
    if (response.status >= 300) {
      errors.non2xx++
      if (response.status >= 500) errors.server++
      const kind = `${init.method ?? 'GET'} ${new URL(url).pathname.replace(/[0-9a-f-]{36}/, ':id')} ${response.status}`
      errors.kinds.set(kind, (errors.kinds.get(kind) ?? 0) + 1)
    }
    return response
  } catch (error) {
    errors.non2xx++
    const kind = `${init.method ?? 'GET'} ${new URL(url).pathname.replace(/[0-9a-f-]{36}/, ':id')} ${error.cause?.code ?? error.name}`
    errors.kinds.set(kind, (errors.kinds.get(kind) ?? 0) + 1)
    return undefined
  }
}

/** Every sample of a service's /metrics, as [name, labels text, value]. */
const scrape = async (opsUrl) =>
  (await (await fetch(`${opsUrl}/metrics`)).text()).split('\n').flatMap((line) => {
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    return sample ? [[sample[1], sample[2] ?? '', Number(sample[3])]] : []
  })
const sumOf = (samples, name, labels = () => true) => samples.reduce((sum, [n, l, v]) => (n === name && labels(l) ? sum + v : sum), 0)

/** The pids of the processes named `command` (postgres, beam.smp), from /proc. */
const pidsOfCommand = (command) => () =>
  readdirSync('/proc').filter((pid) => {
    try {
      return /^\d+$/.test(pid) && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === command
    } catch {
      return false // Gone between the listing and the read.
    }
  })

/**
 * The CPU seconds of a changing set of processes: `pidsOf()` sampled every 2 s, each process
 * counted from its start (a sum over the processes alive at one moment would drop whatever ended
 * since the last); what a process did after its last sample is missed.
 */
const cpuTracker = (pidsOf) => {
  const seen = new Map()
  let total = 0
  let stopped = false
  const sample = async () => {
    for (const pid of await pidsOf()) {
      let cpu
      try {
        cpu = cpuSecondsOf(pid)
      } catch {
        continue
      }
      total += cpu - (seen.get(pid) ?? 0)
      seen.set(pid, cpu)
    }
  }
  const loop = (async () => {
    while (!stopped) {
      await sample().catch(() => undefined)
      await sleep(2_000)
    }
  })()
  return {
    seconds: () => total,
    stop: async () => {
      stopped = true
      await loop
    }
  }
}

/** Reads an SSE stream until `signal` aborts it, reopening it (with Last-Event-ID) when it ends. */
const holdStream = (url, token, dispatcher, signal, onMessage) =>
  (async () => {
    let lastEventId
    while (!signal.aborted) {
      try {
        const response = await counted(
          url,
          {
            signal,
            headers: { Accept: 'text/event-stream', Authorization: `Bearer ${token}`, ...(lastEventId && { 'Last-Event-ID': lastEventId }) }
          },
          dispatcher
        )
        if (response?.ok && response.body) {
          const parser = createParser({
            onEvent: (message) => {
              if (message.id) lastEventId = message.id
              onMessage(message)
            }
          })
          const decoder = new TextDecoder()
          for await (const chunk of response.body) parser.feed(decoder.decode(chunk, { stream: true }))
        } else await response?.body?.cancel()
      } catch {
        // Broken or aborted: reopened below unless aborted.
      }
      if (!signal.aborted) await sleep(1_000)
    }
  })()

const started = []
const children = []
const stopLoad = new AbortController()
let cleaning
const cleanUp = () =>
  (cleaning ??= (async () => {
    stopLoad.abort()
    for (const child of [...started.map((service) => service.child), ...children]) child.kill('SIGKILL')
    await mesh.remove().catch((error) => console.error(`removing the run's databases and queues: ${error.message}`))
    rmSync(mailDirectory, { recursive: true, force: true })
  })())
// Whatever ends this process, the services end with it.
process.once('exit', () => {
  for (const child of [...started.map((service) => service.child), ...children]) child.kill('SIGKILL')
})
process.once('uncaughtException', (error) => {
  console.error(error)
  void cleanUp().then(() => process.exit(1))
})
process.once('SIGINT', () => {
  console.log('\ninterrupted: removing the run')
  void cleanUp().then(() => process.exit(130))
})

let verdictMet = false
try {
  const webhookPort = await freePort()
  children.push(spawn(process.execPath, [join(here, 'support', 'webhook-receiver.mjs'), String(webhookPort)], { stdio: 'inherit' }))
  for (const service of mesh.services) {
    started.push(
      await mesh.start(service, {
        MAIL_DIRECTORY: mailDirectory,
        WEBHOOKS_ALLOW_HTTP: 'true',
        WEBHOOKS_ALLOW_PRIVATE: 'true',
        STREAM_LIMIT_PER_ADDRESS: '10000',
        // The buyers', sellers' and admin's tokens must outlive the run (15 minutes by default).
        JWT_EXPIRES_IN: TOKEN_LIFETIME
      })
    )
  }
  const [users, catalog, order, notify] = started
  const market = await openMarket(started, mesh.name, { sellers: SELLERS, productsPerSeller: PRODUCTS_PER_SELLER, buyers: BUYERS })
  const admin = `Bearer ${await signAccessToken(await importSigningKey(DEVELOPMENT_SIGNING_KEY), { sub: randomUUID(), role: 'admin' }, { ...baseDefaults.jwt, accessTokenExpiresIn: TOKEN_LIFETIME })}`

  // A webhook endpoint of the admin's: every order event of every shop.
  await waitUntil(async () => (await fetch(`http://127.0.0.1:${webhookPort}/count`)).ok, 'the webhook receiver')
  await json(
    `${notify.url}/webhook-endpoints`,
    'POST',
    { url: `http://127.0.0.1:${webhookPort}/hook`, events: ['order.*'] },
    { Authorization: admin }
  )
  const webhooksReceived = async () => (await (await fetch(`http://127.0.0.1:${webhookPort}/count`)).json()).received

  // Each buyer's stream; each seller's SSE printer (claims and confirms every print.job it gets)
  // and CloudPRNT printer (polls, fetches and confirms): the two compete for the shop's jobs.
  const dispatcher = new Agent({ headersTimeout: 30_000, bodyTimeout: 60_000 })
  const streamed = { messages: 0, printed: 0, cloudprnt: 0 }
  const streams = market.buyers.map((buyer) =>
    holdStream(`${notify.url}/stream`, buyer.token, dispatcher, stopLoad.signal, () => streamed.messages++)
  )
  for (const seller of market.sellers) {
    const device = await json(`${users.url}/devices`, 'POST', { name: 'Packing desk' }, seller.headers)
    const step = (jobId, status) =>
      counted(`${notify.url}/print-jobs/${jobId}`, {
        method: 'PATCH',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${device.token}` },
        body: JSON.stringify({ status })
      })
    let work = Promise.resolve()
    streams.push(
      holdStream(`${notify.url}/stream`, device.token, dispatcher, stopLoad.signal, (message) => {
        if (message.event !== 'print.job') return
        const { jobId } = JSON.parse(message.data)
        work = work.then(async () => {
          // 409: the CloudPRNT printer claimed it first.
          const claim = await fetch(`${notify.url}/print-jobs/${jobId}`, {
            method: 'PATCH',
            headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${device.token}` },
            body: JSON.stringify({ status: 'printing' })
          }).catch(() => undefined)
          if (claim?.status === 200 && (await step(jobId, 'printed'))?.ok) streamed.printed++
          else if (claim && claim.status !== 409 && claim.status !== 200) errors.non2xx++
        })
      })
    )
    const poller = await json(`${users.url}/devices`, 'POST', { name: 'CloudPRNT' }, seller.headers)
    const basic = { Authorization: `Basic ${Buffer.from(`${poller.id}:${poller.token}`).toString('base64')}` }
    streams.push(
      (async () => {
        while (!stopLoad.signal.aborted) {
          const poll = await counted(`${notify.url}/cloudprnt`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json', ...basic },
            body: JSON.stringify({ statusCode: '200 OK', printingInProgress: false })
          })
          const answer = poll?.ok ? await poll.json() : {}
          if (answer.jobReady) {
            const job = await counted(`${notify.url}/cloudprnt?type=text/plain&token=${answer.jobToken}`, { headers: basic })
            await job?.arrayBuffer()
            const done = await counted(`${notify.url}/cloudprnt?code=OK&token=${answer.jobToken}`, { method: 'DELETE', headers: basic })
            if (done?.ok) streamed.cloudprnt++
            // The next job at once: a printer with a queue polls again right after a print.
            continue
          }
          await sleep(CLOUDPRNT_POLL_MS)
        }
      })()
    )
  }

  // Checkouts: each answered one is an order whose outcome comes off the broker.
  const outcomes = { placed: 0, answered: 0, final: 0 }
  // While the capacity is measured, each buyer waits for its order's end: one that comes before
  // the checkout's answer is kept until asked for.
  const waiting = new Map()
  const early = new Set()
  let measuring = false
  const connection = await listenForOutcomes(amqpUrl, mesh.prefix, (orderId) => {
    outcomes.final++
    const resolve = waiting.get(orderId)
    if (resolve) {
      waiting.delete(orderId)
      resolve()
    } else if (measuring) early.add(orderId)
  })
  const endOf = (orderId) => (early.delete(orderId) ? undefined : new Promise((resolve) => waiting.set(orderId, resolve)))
  const checkout = async (buyer) => {
    outcomes.placed++
    const product = market.products[Math.floor(Math.random() * market.products.length)]
    const response = await counted(`${order.url}/checkouts`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Idempotency-Key': randomUUID(), ...buyer.headers },
      body: JSON.stringify({
        items: [{ productId: product.id, quantity: 1 }],
        shippingAddress: { name: 'Soak Buyer', line1: 'Main Street 1', city: 'Berlin', postalCode: '10115', country: 'DE' },
        payment: { provider: 'test', token: 'tok_ok' }
      })
    })
    if (!response?.ok) return void (await response?.body?.cancel())
    const { orders } = await response.json()
    outcomes.answered += orders.length
    return orders.map(({ id }) => id)
  }
  /** Waits until every answered checkout's order has its outcome. */
  const settled = (timeoutMs) => waitUntil(async () => outcomes.final >= outcomes.answered, 'every order to end', timeoutMs / 100)

  // Capacity: buyers checking out one after the other, each as soon as its last was answered and ended.
  let rate = Number(options.rate)
  if (!options.rate) {
    measuring = true
    const deadline = Date.now() + CAPACITY_SECONDS * 1000
    let ended = 0
    const begun = Date.now()
    await Promise.all(
      market.buyers.slice(0, CAPACITY_BUYERS).map(async (buyer) => {
        while (Date.now() < deadline) {
          const orderIds = (await checkout(buyer)) ?? []
          await Promise.all(orderIds.map(endOf))
          ended += orderIds.length
        }
      })
    )
    const capacity = ended / ((Date.now() - begun) / 1000)
    measuring = false
    early.clear()
    rate = Math.max(1, Math.round(capacity / 2))
    console.log(
      `capacity: ${capacity.toFixed(1)} orders/s with ${CAPACITY_BUYERS} buyers for ${CAPACITY_SECONDS} s; the soak runs at half: ${rate} orders/s`
    )
  }
  console.log(
    `bench/soak: ${MINUTES} min at ${rate} checkouts/s (${BUYERS} buyers, ${SELLERS} sellers × ${PRODUCTS_PER_SELLER} products), ` +
      `${SEARCHES_PER_SECOND} searches/s, ${BUYERS} buyer streams, ${SELLERS} SSE printers and ${SELLERS} CloudPRNT printers, one webhook endpoint; ` +
      `warm-up ${WARM_UP} min; load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`
  )

  // The load: checkouts and searches at their rates, started on time whatever the answers take (at most MAX_IN_FLIGHT checkouts open).
  let inFlight = 0
  const begun = Date.now()
  let checkouts = 0
  let searches = 0
  const driver = (async () => {
    while (!stopLoad.signal.aborted && Date.now() - begun < MINUTES * 60_000) {
      const elapsed = (Date.now() - begun) / 1000
      for (; checkouts < elapsed * rate; checkouts++) {
        if (inFlight >= MAX_IN_FLIGHT) continue
        inFlight++
        void checkout(market.buyers[checkouts % BUYERS]).finally(() => inFlight--)
      }
      for (; searches < elapsed * SEARCHES_PER_SECOND; searches++) {
        void counted(`${catalog.url}/search?q=bench&$limit=20`).then((response) => response?.arrayBuffer())
      }
      await sleep(50)
    }
  })()

  // Per minute.
  let adminDb = await connected(databaseUrl('postgres'))
  const pidsOfRun = async () => {
    try {
      return (await adminDb.query('SELECT pid FROM pg_stat_activity WHERE datname = ANY($1)', [mesh.databaseNames])).rows.map((row) => row.pid)
    } catch (error) {
      // Ended by the server: the next sample asks a new connection.
      adminDb = await connected(databaseUrl('postgres'))
      throw error
    }
  }
  // The backends and autovacuum workers of the run's databases; every PostgreSQL process; RabbitMQ.
  const dbCpu = cpuTracker(pidsOfRun)
  const postgresCpu = cpuTracker(pidsOfCommand('postgres'))
  const rabbitCpu = cpuTracker(pidsOfCommand('beam.smp'))
  const broker = await amqplib.connect(amqpUrl)
  const channel = await broker.createChannel()
  const consumerLag = async () => {
    let messages = 0
    for (const consumer of CONSUMING) messages += (await channel.checkQueue(consumerQueueNames(mesh.prefix, consumer).queue)).messageCount
    return messages
  }
  const tableStats = async () => {
    const stats = {}
    for (const database of mesh.databaseNames) {
      const client = await connected(databaseUrl(database))
      const { rows } = await client.query(
        `SELECT relname, n_live_tup::int AS live, n_dead_tup::int AS dead, pg_total_relation_size(relid)::bigint AS bytes,
                autovacuum_count::int AS autovacuums, autoanalyze_count::int AS autoanalyzes
           FROM pg_stat_user_tables WHERE relname = ANY($1)`,
        [HOT_TABLES]
      )
      await client.end()
      for (const row of rows) stats[`${database.split('_').at(-1)}.${row.relname}`] = { ...row, bytes: Number(row.bytes) }
    }
    return stats
  }
  const snapshot = async () => ({
    at: Date.now(),
    final: outcomes.final,
    commits: Object.values(await mesh.commits()).reduce((sum, n) => sum + n, 0),
    db: dbCpu.seconds(),
    postgres: postgresCpu.seconds(),
    rabbit: rabbitCpu.seconds(),
    services: started.map(({ child }) => cpuSecondsOf(child.pid)),
    errors: { non2xx: errors.non2xx, server: errors.server }
  })
  /** One minute's line: what changed since `previous` (a snapshot), and the gauges now. */
  const sampleMinute = async (minute, previous) => {
    const now = await snapshot()
    const metrics = await Promise.all(started.map(({ opsUrl }) => scrape(opsUrl)))
    const orders = now.final - previous.final
    return {
      minute,
      now,
      ordersPerSecond: orders / ((now.at - previous.at) / 1000),
      commitsPerOrder: (now.commits - previous.commits) / orders,
      services: perOrder(now.services.reduce((s, n) => s + n, 0) - previous.services.reduce((s, n) => s + n, 0), orders),
      db: perOrder(now.db - previous.db, orders),
      postgres: perOrder(now.postgres - previous.postgres, orders),
      rabbit: perOrder(now.rabbit - previous.rabbit, orders),
      outboxLag: metrics.reduce((sum, samples) => sum + sumOf(samples, 'outbox_backlog'), 0),
      queueLag: await consumerLag(),
      rss: metrics.map((samples) => sumOf(samples, 'process_resident_memory_bytes')),
      loop: metrics.map((samples) => sumOf(samples, 'nodejs_eventloop_lag_p99_seconds') * 1000),
      serverErrors: metrics.reduce((sum, samples) => sum + sumOf(samples, 'http_request_duration_seconds_count', (l) => /status="5/.test(l)), 0),
      non2xx: now.errors.non2xx - previous.errors.non2xx,
      fivexx: now.errors.server - previous.errors.server
    }
  }
  const minutes = []
  // A service answers /ready 503 while it starts: counted from here.
  const serverErrorsBefore = (await sampleMinute(0, await snapshot())).serverErrors
  let previous = await snapshot()
  const firstTables = await tableStats().catch(() => ({}))
  console.log(
    'min  orders/s  commits/o  CPU ms/order: services  db (pg all, broker)   lag: outbox queues   RSS MB u/c/o/n     loop p99 ms u/c/o/n   errors (5xx)'
  )
  for (let minute = 1; minute <= MINUTES && !stopLoad.signal.aborted; minute++) {
    await sleep(Math.max(0, begun + minute * 60_000 - Date.now()))
    // The machine's PostgreSQL is shared: a sample refused (too many clients) leaves out that minute, not the run.
    const row = await sampleMinute(minute, previous).catch((error) => console.log(`${String(minute).padStart(3)}  not sampled: ${error.message}`))
    if (!row) continue
    previous = row.now
    minutes.push(row)
    console.log(
      `${String(minute).padStart(3)}  ${row.ordersPerSecond.toFixed(1).padStart(8)}  ${row.commitsPerOrder.toFixed(1).padStart(9)}  ` +
        `${row.services.padStart(21)}  ${row.db.padStart(4)} (${row.postgres}, ${row.rabbit})`.padEnd(22) +
        `  ${String(row.outboxLag).padStart(12)} ${String(row.queueLag).padStart(6)}   ${row.rss.map(mb).join('/').padEnd(17)}  ` +
        `${row.loop
          .map((ms) => ms.toFixed(0))
          .join('/')
          .padEnd(20)}  ${row.non2xx} (${row.fivexx})`
    )
  }
  stopLoad.abort()
  await driver
  const lastTables = await tableStats().catch(() => ({}))

  // The end: every order final, the ledger balanced.
  await settled(180_000).catch((error) => console.log(`  ${error.message}: ${outcomes.final} of ${outcomes.answered}`))
  const orderDb = await connected(order.database)
  const { rows: statuses } = await orderDb.query('SELECT status, count(*)::int AS count FROM orders GROUP BY status')
  await orderDb.end()
  const ledger = await json(`${order.url}/ledger`, 'GET', undefined, { Authorization: admin })
  const webhooks = await webhooksReceived()
  await Promise.all([dbCpu, postgresCpu, rabbitCpu].map((tracker) => tracker.stop()))
  await broker.close()
  await connection.close()
  await adminDb.end()
  dispatcher.destroy()

  const orderCount = statuses.reduce((sum, { count }) => sum + count, 0)
  console.log(
    `\n${outcomes.placed} checkouts -> ${orderCount} orders (${statuses.map(({ status, count }) => `${count} ${status}`).join(', ')}); ` +
      `${streamed.messages} messages on the buyers' streams, ${streamed.printed} receipts printed over SSE and ${streamed.cloudprnt} over CloudPRNT, ` +
      `${webhooks} webhooks received; errors: ${errors.non2xx} non-2xx, ${errors.server} 5xx${errors.kinds.size ? ` (${[...errors.kinds].map(([kind, n]) => `${n}× ${kind}`).join('; ')})` : ''}`
  )
  console.log('queue-like tables, after the first minute -> at the end: live rows, dead rows, size; autovacuums, autoanalyzes in between')
  for (const [name, last] of Object.entries(lastTables)) {
    const first = firstTables[name] ?? { live: 0, dead: 0, bytes: 0, autovacuums: 0, autoanalyzes: 0 }
    console.log(
      `  ${name.padEnd(26)} ${first.live} -> ${last.live} live, ${first.dead} -> ${last.dead} dead, ${mb(first.bytes)} -> ${mb(last.bytes)} MB; ` +
        `${last.autovacuums - first.autovacuums} autovacuums, ${last.autoanalyzes - first.autoanalyzes} autoanalyzes`
    )
  }

  // The verdict, over the minutes after the warm-up.
  const steady = minutes.slice(WARM_UP)
  if (steady.length < 2) throw new Error(`too short for a verdict: ${minutes.length} minutes with a warm-up of ${WARM_UP}`)
  const [first, last] = [steady[0], steady.at(-1)]
  const growth = (a, b) => (b - a) / a
  const third = Math.max(1, Math.floor(steady.length / 3))
  const meanLag = (rows) => rows.reduce((sum, row) => sum + row.outboxLag + row.queueLag, 0) / rows.length
  const checks = [
    // RSS saws with the garbage collector: what it keeps is the low of each stretch. The low of
    // the last half of the minutes against that of the first.
    ...started.map(({ name }, i) => {
      const low = (rows) => Math.min(...rows.map((row) => row.rss[i]))
      const [before, after] = [low(steady.slice(0, Math.ceil(steady.length / 2))), low(steady.slice(Math.ceil(steady.length / 2)))]
      const change = growth(before, after)
      return [`${name}-service RSS, lowest ${mb(before)} -> ${mb(after)} MB (${(change * 100).toFixed(1)}%, at most +10%)`, change <= 0.1]
    }),
    [
      `no 5xx (${errors.server} answered, ${last.serverErrors - serverErrorsBefore} counted by the services)`,
      errors.server === 0 && last.serverErrors === serverErrorsBefore
    ],
    [
      `no growing lag (outbox + queues, mean of the first third ${meanLag(steady.slice(0, third)).toFixed(0)}, of the last ${meanLag(steady.slice(-third)).toFixed(0)})`,
      meanLag(steady.slice(-third)) <= Math.max(50, 2 * meanLag(steady.slice(0, third)))
    ],
    [
      `commits per order flat: ${first.commitsPerOrder.toFixed(1)} -> ${last.commitsPerOrder.toFixed(1)} (at most +10%)`,
      growth(first.commitsPerOrder, last.commitsPerOrder) <= 0.1
    ],
    [`db CPU per order flat: ${first.db} -> ${last.db} ms (at most +25%; the machine is shared)`, growth(Number(first.db), Number(last.db)) <= 0.25],
    [
      `every order final: ${orderCount - statuses.filter(({ status }) => FINAL.includes(status)).reduce((s, { count }) => s + count, 0)} not`,
      statuses.every(({ status }) => FINAL.includes(status))
    ],
    [
      `trial balance ${ledger.trialBalance.map((line) => `${line.balance} ${line.currency}`).join(', ') || 'empty'}`,
      ledger.trialBalance.length > 0 && ledger.trialBalance.every((line) => line.balance === 0)
    ]
  ]
  for (const [what, met] of checks) console.log(`  ${met ? 'ok  ' : 'FAIL'} ${what}`)
  verdictMet = checks.every(([, met]) => met)
  console.log(
    `verdict (minutes ${WARM_UP + 1}-${minutes.length}; load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}): ${verdictMet ? 'met' : 'NOT met'}`
  )
  await Promise.all(streams)
} finally {
  await cleanUp()
}
process.exitCode = verdictMet ? 0 : 1
