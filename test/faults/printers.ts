import { createParser, type EventSourceMessage } from 'eventsource-parser'
import { Agent, fetch as streamFetch } from 'undici'
import { waitFor } from '@marketmesh/test-support'
import type { Mesh } from '@marketmesh/test-support/mesh'
import { call, persistentCall } from './http'
import type { Market } from './shoppers'

// How many printers each seller of a market has: the first one's compete for every job.
const DEVICES_PER_SELLER = [2, 1]
// Before reopening a stream the service refused (a 5xx while it starts, a 401 before it knows the
// device), closed or broke, unless it said otherwise (`retry:`).
const REOPEN_AFTER_MS = 1_000
// The service sends a heartbeat every 10 s: a stream silent for this long is dead without knowing it.
const SILENCE_MS = 45_000

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export interface Device {
  id: string
  sellerId: string
  token: string
}

/** What one printer went through, for the audit. */
export interface PrinterRecord {
  device: Device
  /** How often each job's `print.job` came: more than once when a reconnect sent a still-queued one again. */
  deliveries: Map<string, number>
  /** The log ids of the messages that came with one, in order: a resumed stream repeats none. */
  ids: number[]
  /** Jobs its claim won (and then confirmed printed); claims another device had won first (409). */
  won: string[]
  lost: number
  /** Answers a printer should never get, and `resync`s (the log no longer had what it missed). */
  failures: string[]
  /** Streams it opened: more than one once it came back after losing one. */
  connections: number
  /** Jobs received and not yet through. */
  busy: number
}

/**
 * A receipt printer as the reference agent (`marketmesh printer`) behaves, inside the test process:
 * its device stream, resumed with Last-Event-ID; a `print.job` it has not seen before is claimed
 * (`PATCH printing`) and, if the claim won, confirmed (`printed`); one at a time, in order. A
 * request is sent again after a broken connection or a 5xx until the service answers (the service
 * answers a repeated step unchanged). Streams go through `dispatcher`, never the pool of the
 * test's other requests: open streams must not hold the sockets that a settle loop's polls wait for.
 */
const connectPrinter = (notifyUrl: string, device: Device, dispatcher: Agent) => {
  const record: PrinterRecord = { device, deliveries: new Map(), ids: [], won: [], lost: 0, failures: [], connections: 0, busy: 0 }
  let lastEventId: string | undefined
  let stream: AbortController | undefined
  let stopped = false
  let work: Promise<unknown> = Promise.resolve()

  const step = (jobId: string, status: 'printing' | 'printed') =>
    persistentCall(notifyUrl, 'PATCH', `/print-jobs/${jobId}`, { token: device.token, body: { status }, deadline: Date.now() + 240_000 })

  const print = async (jobId: string) => {
    const claim = await step(jobId, 'printing')
    if (claim.status === 409) {
      record.lost++
      return
    }
    if (claim.status !== 200) {
      record.failures.push(`claim of ${jobId} answered ${claim.status}: ${JSON.stringify(claim.body)}`)
      return
    }
    record.won.push(jobId)
    const confirmation = await step(jobId, 'printed')
    if (confirmation.status !== 200) record.failures.push(`printed of ${jobId} answered ${confirmation.status}: ${JSON.stringify(confirmation.body)}`)
  }

  const received = (message: EventSourceMessage) => {
    // Only a message that carries an id moves the stream on (heartbeats and the like carry none).
    if (!message.id) return
    record.ids.push(Number(message.id))
    lastEventId = message.id
  }

  const dispatch = (message: EventSourceMessage) => {
    if (message.event === 'announcement') received(message)
    if (message.event === 'resync') {
      received(message)
      record.failures.push(`resync after ${lastEventId}`)
    }
    if (message.event !== 'print.job') return
    received(message)
    const { jobId } = JSON.parse(message.data) as { jobId: string }
    const times = (record.deliveries.get(jobId) ?? 0) + 1
    record.deliveries.set(jobId, times)
    // The agent remembers the jobs it went through and skips them when they come again.
    if (times > 1) return
    record.busy++
    work = work
      .then(() => print(jobId))
      .catch((error: Error) => record.failures.push(`job ${jobId}: ${error.message}`))
      .finally(() => record.busy--)
  }

  /**
   * The device stream, read off the wire with eventsource-parser and reopened with Last-Event-ID
   * whenever it ends: refused (a 5xx while the service starts, a 401 before it knows the device),
   * closed, or broken mid-read (a killed notify-service resets the socket: an error of the read,
   * caught here like any end of the stream, never an uncaught one).
   */
  const run = async () => {
    let reconnectAfterMs = REOPEN_AFTER_MS
    while (!stopped) {
      const controller = new AbortController()
      stream = controller
      try {
        const response = await streamFetch(`${notifyUrl}/stream`, {
          dispatcher,
          signal: controller.signal,
          headers: { Accept: 'text/event-stream', Authorization: `Bearer ${device.token}`, ...(lastEventId ? { 'Last-Event-ID': lastEventId } : {}) }
        })
        if (response.ok && response.body) {
          record.connections++
          const parser = createParser({ onEvent: dispatch, onRetry: (ms) => (reconnectAfterMs = ms) })
          const decoder = new TextDecoder()
          for await (const chunk of response.body) parser.feed(decoder.decode(chunk, { stream: true }))
        } else {
          await response.body?.cancel()
        }
      } catch {
        // The stream broke (or `stop` aborted it): reopened below unless stopped.
      }
      if (!stopped) await sleep(reconnectAfterMs)
    }
  }
  void run()

  return {
    record,
    stop: () => {
      stopped = true
      stream?.abort()
    }
  }
}

/**
 * Printers for the market's sellers (devices registered in user-service, as a seller does), each
 * with its stream open; returns once notify-service has let every one in.
 */
export const openPrinters = async (mesh: Mesh, market: Market) => {
  const dispatcher = new Agent({ headersTimeout: 30_000, bodyTimeout: SILENCE_MS })
  const devices = await Promise.all(
    market.sellers.flatMap((seller, index) =>
      Array.from({ length: DEVICES_PER_SELLER[index] }, async (_, number): Promise<Device> => {
        const device = await call(mesh.urls.user, 'POST', '/devices', { token: seller.token, body: { name: `Packing desk ${number + 1}` } })
        return { id: device.id, sellerId: seller.id, token: device.token }
      })
    )
  )
  const printers = devices.map((device) => connectPrinter(mesh.urls.notify, device, dispatcher))
  const records = printers.map((printer) => printer.record)
  const close = async () => {
    for (const printer of printers) printer.stop()
    await dispatcher.destroy()
  }
  await waitFor(() => records.every((record) => record.connections > 0), {
    what: 'every printer to be let in (notify-service to know its device)',
    timeoutMs: 60_000,
    intervalMs: 200
  }).catch(async (error: Error) => {
    await close()
    throw error
  })
  return { records, close }
}

export type Printers = Awaited<ReturnType<typeof openPrinters>>
