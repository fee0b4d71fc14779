// bench/redrive: `marketmesh dlq redrive`, unthrottled, on N dead letters
//   N events dead-lettered to catalog-service's dead-letter queue (with the headers the consumer
//   gives them) -> the CLI, as its own process, moves them all back to the consumer's queue
// and, in the same run, the bound: N raw confirmed publishes to a quorum queue (amqplib, all in
// flight), what this broker takes at most when it confirms every message.
// Usage: node bench/redrive.mjs [N]   (after `npm run build`; default 20000)
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { benchRun } from './support/bench-run.mjs'
import { orderCreatedEnvelope } from './support/order-created.mjs'

const require = createRequire(import.meta.url)
const amqplib = require('amqplib')
const { consumerQueueNames, DEAD_LETTER_HEADERS, declareTopology, EVENT_CONSUMERS, exchangeNames } = require('@marketmesh/events')
const { baseDefaults } = require('@marketmesh/shared')

const N = Number(process.argv[2] ?? 20_000)
const TARGET = 5_000
const CONSUMER = 'catalog-service'
const url = process.env.AMQP_URL ?? baseDefaults.amqp.url
const run = benchRun('redrive')
const { prefix } = run
const here = dirname(fileURLToPath(import.meta.url))
const cli = join(here, '..', 'packages', 'cli', 'lib', 'index.js')
const names = consumerQueueNames(prefix, CONSUMER)

const letterHeaders = () => ({
  'x-request-id': randomUUID(),
  'x-attempt': 3,
  [DEAD_LETTER_HEADERS.error]: 'stock service timed out',
  [DEAD_LETTER_HEADERS.attempts]: 3,
  [DEAD_LETTER_HEADERS.consumer]: CONSUMER,
  [DEAD_LETTER_HEADERS.failedAt]: new Date().toISOString(),
  [DEAD_LETTER_HEADERS.routingKey]: 'order.created'
})

/** Publishes every message at once on a confirm channel and waits for the broker's confirms. */
const publishAll = async (channel, exchange, routingKey, messages) => {
  for (const { id, body, headers } of messages) {
    const options = { persistent: true, messageId: id, type: 'order.created', contentType: 'application/json', headers }
    if (!channel.publish(exchange, routingKey, body, options)) await new Promise((resolve) => channel.once('drain', resolve))
  }
  await channel.waitForConfirms()
}

const runCli = (...args) =>
  new Promise((resolve, reject) => {
    const child = run.spawned(
      spawn(process.execPath, [cli, ...args], {
        env: { ...process.env, AMQP_URL: url, AMQP_PREFIX: prefix },
        stdio: ['ignore', 'pipe', 'pipe']
      })
    )
    let output = ''
    child.stdout.on('data', (chunk) => (output += chunk))
    child.stderr.on('data', (chunk) => (output += chunk))
    child.once('exit', (code) => (code === 0 ? resolve(output.trim()) : reject(new Error(`the CLI exited with ${code}: ${output}`))))
  })

const connection = await amqplib.connect(url)
const channel = await connection.createConfirmChannel()
const messages = Array.from({ length: N }, () => {
  const id = randomUUID()
  return { id, body: Buffer.from(JSON.stringify(orderCreatedEnvelope(id))), headers: letterHeaders() }
})
const boundQueue = `${prefix}.bound`
run.declared({ queues: [boundQueue] })
try {
  await declareTopology(channel, { prefix, retryDelaysMs: [] }, { [CONSUMER]: EVENT_CONSUMERS[CONSUMER] })
  await channel.assertQueue(boundQueue, { durable: true, arguments: { 'x-queue-type': 'quorum' } })

  console.log(`bench/redrive: ${N} dead letters of ${CONSUMER}, redriven by the CLI in its own process, unthrottled`)
  // Measured before and after the redrive, and averaged: the load of a shared machine drifts.
  const measureBound = async () => {
    await channel.purgeQueue(boundQueue)
    const started = Date.now()
    await publishAll(channel, '', boundQueue, messages)
    return Math.round(N / ((Date.now() - started) / 1000))
  }
  const boundBefore = await measureBound()
  console.log(`baseline broker  raw confirmed publish to a quorum queue (amqplib, all in flight), before: ${boundBefore} messages/s`)

  await publishAll(channel, exchangeNames(prefix).deadLetters, CONSUMER, messages)
  const inDeadLetters = (await channel.checkQueue(names.deadLetterQueue)).messageCount
  console.log(`dead-lettered    ${inDeadLetters} letters in ${names.deadLetterQueue}`)

  const started = Date.now()
  const summary = await runCli('dlq', 'redrive', CONSUMER, '--yes')
  const wallSeconds = (Date.now() - started) / 1000
  const moved = Number(/moved ([\d,]+) dead letters?/.exec(summary)?.[1].replace(/,/g, ''))
  const seconds = Number(/ in ([\d.]+) s/.exec(summary)?.[1])
  const arrived = (await channel.checkQueue(names.queue)).messageCount
  const left = (await channel.checkQueue(names.deadLetterQueue)).messageCount
  const rate = Math.round(moved / seconds)
  console.log(`cli              ${summary}`)
  const boundAfter = await measureBound()
  const boundRate = Math.round((boundBefore + boundAfter) / 2)
  console.log(`baseline broker  after: ${boundAfter} messages/s; bound (mean) ${boundRate} messages/s`)
  console.log(
    `marketmesh redrive  ${rate} messages/s (${seconds.toFixed(2)} s; ${(N / wallSeconds).toFixed(0)} messages/s counting the process start, ${wallSeconds.toFixed(2)} s)\n` +
      `  moved ${moved}, arrived in ${names.queue} ${arrived}, left in the dead-letter queue ${left}: ${arrived === moved && moved === N && left === 0 ? 'none lost' : 'MISMATCH'}\n` +
      `  ratio to the bound ${(rate / boundRate).toFixed(2)} (target >= 0.5: ${rate / boundRate >= 0.5 ? 'met' : 'NOT met'}); target >= ${TARGET} messages/s: ${rate >= TARGET ? 'met' : 'NOT met'}`
  )
  if (arrived !== moved || moved !== N || left !== 0) process.exitCode = 1
} finally {
  await connection.close()
  await run.remove()
}
