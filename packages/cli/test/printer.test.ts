import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type EventData, type EventType } from '@marketmesh/events'
import { createDeviceToken, hashDeviceToken } from '@marketmesh/shared'
import { renderReceipt } from '@marketmesh/receipts'
import type { AgentStateData } from '../src/printer/state'
import {
  cleanUp,
  createTcpProxy,
  createTestBus,
  isolatedEnvironment,
  POSTGRES,
  startServiceProcess,
  uniqueName,
  waitFor,
  type ServiceProcess
} from '@marketmesh/test-support'

// Runs the built CLI (`npx tsc -b` first, as `npm test` does) against notify-service as a process.
const CLI = join(__dirname, '..', 'lib', 'index.js')

interface HeldReceipt {
  bytes: Buffer
  /** Hangs up, as the printer does once it has the job: the agent's write completes. */
  release: () => void
}

/**
 * A network receipt printer on loopback: its raw port takes one receipt per connection and hangs
 * up when the sender is done. `holdNext` keeps the next connection open once the receipt is in,
 * so a test can act while the agent waits for the printer.
 */
const startPrinter = async () => {
  const receipts: Buffer[] = []
  let hold: ((receipt: HeldReceipt) => void) | undefined
  const sockets = new Set<Socket>()
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket)
    const chunks: Buffer[] = []
    socket.on('data', (chunk) => chunks.push(chunk))
    socket.on('error', () => undefined)
    socket.on('close', () => sockets.delete(socket))
    socket.on('end', () => {
      const bytes = Buffer.concat(chunks)
      receipts.push(bytes)
      const held = hold
      hold = undefined
      if (held) held({ bytes, release: () => socket.end() })
      else socket.end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `tcp://127.0.0.1:${(server.address() as AddressInfo).port}`,
    receipts,
    holdNext: () => new Promise<HeldReceipt>((resolve) => (hold = resolve)),
    /** How many receipts carry this order's number. */
    timesPrinted: (orderId: string) => receipts.filter((bytes) => bytes.includes(`Order ${orderId}`)).length,
    close: () => {
      for (const socket of sockets) socket.destroy()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

const startAgent = (args: string[], env: Record<string, string> = {}) => {
  // Only what the test gives: none of the runner's own MARKETMESH_* settings.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('MARKETMESH_')))
  const child = spawn(process.execPath, [CLI, 'printer', ...args], {
    env: { ...inherited, ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stderr = ''
  child.stderr!.on('data', (chunk) => (stderr += chunk))
  child.stdout!.resume()
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return {
    child,
    exited,
    stderr: () => stderr,
    kill: async () => {
      child.kill('SIGKILL')
      await exited
    }
  }
}

const readState = async (path: string): Promise<AgentStateData> => {
  try {
    return JSON.parse(await readFile(path, 'utf8'))
  } catch {
    return { jobs: {} }
  }
}

describe('marketmesh printer', () => {
  const environment = isolatedEnvironment('printer_agent')
  const busDatabase = `${POSTGRES}/${uniqueName('printer_agent_bus')}`
  const sellerId = randomUUID()
  const deviceId = randomUUID()
  const token = createDeviceToken()
  let notify: ServiceProcess
  let bus: Awaited<ReturnType<typeof createTestBus>>
  let directory: string
  const agents: ReturnType<typeof startAgent>[] = []

  const emit = <T extends EventType>(type: T, data: EventData<T>) => bus.db.transaction((trx) => bus.bus.emit(trx, type, data))

  const paidOrder = async (text: Partial<EventData<'order.paid'>> = {}) => {
    const orderId = randomUUID()
    await emit('order.paid', {
      orderId,
      buyerId: randomUUID(),
      sellerId,
      version: 2,
      checkoutId: randomUUID(),
      total: 4_250,
      currency: 'EUR',
      paymentId: `pay_${orderId}`,
      placedAt: new Date().toISOString(),
      buyerName: 'Ada Buyer',
      shopName: 'Oak & Iron',
      shippingAddress: { name: 'Ada Buyer', line1: 'Main Street 1', city: 'Berlin', postalCode: '10115', country: 'DE' },
      lines: [{ productId: randomUUID(), title: 'Oak side table', quantity: 1, unitPrice: 4_250 }],
      ...text
    })
    return orderId
  }

  const asDevice = (path: string) => fetch(`${notify.url}${path}`, { headers: { Authorization: `Bearer ${token}` } })

  const jobOf = async (orderId: string): Promise<{ id: string; status: string } | undefined> => {
    const response = await asDevice(`/print-jobs?orderId=${orderId}`)
    return response.ok ? ((await response.json()) as { data: { id: string; status: string }[] }).data[0] : undefined
  }

  const statusOf = async (orderId: string) => (await jobOf(orderId))?.status

  const waitForStatus = (orderId: string, statuses: string[]) =>
    waitFor(
      async () => {
        const status = await statusOf(orderId)
        return status && statuses.includes(status) ? status : undefined
      },
      { what: `the job of ${orderId} to be ${statuses.join(' or ')}`, timeoutMs: 30_000 }
    )

  const agent = (args: string[], env?: Record<string, string>) => {
    const started = startAgent(args, env)
    agents.push(started)
    return started
  }

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'marketmesh-printer-'))
    notify = await startServiceProcess('notify-service', { ...environment, PRINT_CONFIRM_TIMEOUT: '2s' })
    bus = await createTestBus({ service: 'test-consumer', connection: busDatabase, prefix: environment.AMQP_PREFIX })
    await bus.bus.start()
    await emit('device.registered', { deviceId, sellerId, name: 'Packing desk printer', tokenHash: hashDeviceToken(token) })
    await waitFor(async () => (await asDevice('/print-jobs')).ok, { what: 'notify-service to know the device' })
  })

  afterAll(async () => {
    for (const started of agents) await started.kill()
    await bus?.bus.stop()
    await bus?.db.destroy()
    notify?.child.kill('SIGKILL')
    await notify?.exited
    await cleanUp({ prefix: environment.AMQP_PREFIX, databases: [environment.DATABASE_URL, busDatabase] })
    await rm(directory, { recursive: true, force: true })
  })

  it('prints a paid order on a network printer in ESC/POS, with its order number, and acknowledges it printed', async () => {
    const printer = await startPrinter()
    const statePath = join(directory, 'first.json')
    const running = agent(['--url', notify.url, '--token', token, '--out', printer.url, '--columns', '42', '--state', statePath])
    try {
      const orderId = await paidOrder()
      await waitForStatus(orderId, ['printed'])
      expect(printer.timesPrinted(orderId)).toBe(1)
      const [receipt] = printer.receipts
      // ESC @ (initialize) first: the encoder's ESC/POS, not text.
      expect([...receipt.subarray(0, 2)]).toEqual([0x1b, 0x40])
      expect(receipt.includes('Oak & Iron')).toBe(true)
      expect(receipt.includes('42.50')).toBe(true)
      const job = (await jobOf(orderId))!
      // The service records `printed` before the agent has read its answer: the log line and the state follow.
      const printedLine = new RegExp(`job ${job.id} order ${orderId}: printed on ${printer.url}`)
      await waitFor(() => printedLine.test(running.stderr()), { what: 'the agent to log the job printed' })
      await waitFor(async () => (await readState(statePath)).jobs[job.id]?.step === 'done', { what: 'the job done in the state file' })
      expect((await readState(statePath)).jobs[job.id]).toEqual({ step: 'done' })
    } finally {
      await running.kill()
      await printer.close()
    }
  })

  it('prints no printer command or invisible character that order.paid carried', async () => {
    const printer = await startPrinter()
    const running = agent([
      '--url',
      notify.url,
      '--token',
      token,
      '--out',
      printer.url,
      '--columns',
      '42',
      '--state',
      join(directory, 'hostile.json')
    ])
    try {
      // ESC p kicks the cash drawer, GS V cuts the paper; a bidi override and a zero-width space hide text.
      const orderId = await paidOrder({
        buyerName: 'Ada\u001dV1 Buyer',
        shopName: 'Oak\u001bp022 & Iron\u202e',
        shippingAddress: { name: 'Ada\r\nBuyer', line1: 'Main St 1\u001bp022', city: 'Ber\u200blin', postalCode: '10115\u001b@', country: 'DE' },
        lines: [{ productId: randomUUID(), title: 'Oak\u001bd\u0003 side table', quantity: 1, unitPrice: 4_250 }]
      })
      await waitForStatus(orderId, ['printed'])
      const receipt = printer.receipts.find((bytes) => bytes.includes(`Order ${orderId}`))!
      const jobs = (await (await asDevice(`/print-jobs?orderId=${orderId}`)).json()) as { data: Array<{ receipt: { placedAt: string } }> }
      const { placedAt } = jobs.data[0].receipt
      const printable = {
        copy: false,
        receipt: {
          orderId,
          placedAt,
          total: 4_250,
          currency: 'EUR',
          buyerName: 'Ada V1 Buyer',
          shopName: 'Oak p022 & Iron',
          shippingAddress: { name: 'Ada  Buyer', line1: 'Main St 1 p022', city: 'Berlin', postalCode: '10115 @', country: 'DE' },
          lines: [{ title: 'Oak d  side table', quantity: 1, unitPrice: 4_250, total: 4_250 }]
        }
      }
      expect(receipt.equals(Buffer.from(renderReceipt(printable, { language: 'esc-pos', columns: 42 })))).toBe(true)
      expect(receipt.includes('\u001bp0')).toBe(false)
      expect(receipt.includes('Main St 1 p022')).toBe(true)
    } finally {
      await running.kill()
      await printer.close()
    }
  })

  it('reports a failure whose error has several lines or control characters as one printable line', async () => {
    // The file cannot be opened: Node's message names the path, line break and ESC included.
    const missing = join(directory, 'no such\ndirectory\u001b[2J', 'receipt.bin')
    const running = agent(['--url', notify.url, '--token', token, '--out', `file:${missing}`, '--state', join(directory, 'failing.json')])
    try {
      const orderId = await paidOrder()
      await waitForStatus(orderId, ['failed'])
      const job = (await (await asDevice(`/print-jobs?orderId=${orderId}`)).json()) as { data: Array<{ error: string }> }
      expect(job.data[0].error).toBe(`ENOENT: no such file or directory, open '${missing.replace('\n', ' ').replace('\u001b', ' ')}'`)
    } finally {
      await running.kill()
    }
  })

  it('prints nothing twice and misses nothing when it is killed (SIGKILL) and restarted mid-stream', async () => {
    const printer = await startPrinter()
    const proxy = await createTcpProxy({ host: '127.0.0.1', port: Number(new URL(notify.url).port) })
    const statePath = join(directory, 'killed.json')
    const args = ['--url', `http://127.0.0.1:${proxy.port}`, '--token', token, '--out', printer.url, '--state', statePath]
    const orders: string[] = []
    let running: ReturnType<typeof startAgent> | undefined
    try {
      running = agent(args)
      orders.push(await paidOrder())
      await waitForStatus(orders[0], ['printed'])

      // Killed while the receipt is with the printer, before the printer hung up: the agent cannot
      // know whether it is on paper, so it is never sent again; the claim goes unconfirmed.
      const withPrinter = printer.holdNext()
      orders.push(await paidOrder())
      const held = await withPrinter
      expect(held.bytes.includes(`Order ${orders[1]}`)).toBe(true)
      await running.kill()
      held.release()

      // Jobs paid while no agent runs wait queued; the restarted agent prints them.
      orders.push(await paidOrder(), await paidOrder())
      running = agent(args)
      await waitForStatus(orders[1], ['unconfirmed'])
      await waitForStatus(orders[2], ['printed'])
      await waitForStatus(orders[3], ['printed'])

      // Killed after the printer took the receipt, while the service cannot be reached to hear so:
      // the restarted agent reports it printed, and does not print it again.
      const taken = printer.holdNext()
      orders.push(await paidOrder())
      const receipt = await taken
      await proxy.cut()
      receipt.release()
      const state = await waitFor(
        async () => {
          const jobs = Object.values((await readState(statePath)).jobs)
          return jobs.some((job) => job.step === 'printed' && job.message.orderId === orders[4])
        },
        { what: 'the agent to have written down the receipt printed' }
      )
      expect(state).toBe(true)
      await running.kill()
      expect(['printing', 'unconfirmed']).toContain(await statusOf(orders[4]))
      await proxy.restore()
      running = agent(args)
      await waitForStatus(orders[4], ['printed'])

      // Killed at whatever point it is in a burst, twice.
      for (let round = 0; round < 2; round++) {
        const burst = await Promise.all(Array.from({ length: 4 }, paidOrder))
        orders.push(...burst)
        const before = printer.receipts.length
        await waitFor(() => printer.receipts.length > before, { what: 'a receipt of the burst' })
        await running.kill()
        running = agent(args)
        for (const orderId of burst) await waitForStatus(orderId, ['printed', 'unconfirmed'])
      }

      const statuses = await Promise.all(orders.map(statusOf))
      for (const [index, orderId] of orders.entries()) {
        const times = printer.timesPrinted(orderId)
        expect(times, `order ${index} on paper`).toBeLessThanOrEqual(1)
        // Printed = on paper once; unconfirmed = the agent was killed with it (on paper at most once), for the seller to check.
        if (statuses[index] === 'printed') expect(times, `order ${index} on paper`).toBe(1)
        else expect(statuses[index], `order ${index}`).toBe('unconfirmed')
      }
      expect(printer.timesPrinted(orders[1])).toBe(1)
      expect(statuses.slice(0, 5)).toEqual(['printed', 'unconfirmed', 'printed', 'printed', 'printed'])
      // Each kill leaves at most the one job it interrupted unconfirmed.
      expect(statuses.filter((status) => status === 'unconfirmed').length).toBeLessThanOrEqual(3)
    } finally {
      await running?.kill()
      await proxy.close()
      await printer.close()
    }
  }, 360_000)

  it('exits non-zero, saying so, when the service refuses its token', async () => {
    const refused = agent(['--url', notify.url, '--out', '-', '--state', join(directory, 'refused.json')], {
      MARKETMESH_DEVICE_TOKEN: createDeviceToken()
    })
    expect(await refused.exited).toBe(1)
    expect(refused.stderr()).toMatch(/marketmesh: the service refused the device token \(HTTP 401/)
  })

  it('names the flag that is wrong', async () => {
    const cases: [string[], RegExp][] = [
      [['--token', 't', '--out', '-'], /required option '--url <url>' not specified/],
      [
        ['--url', 'ftp://x', '--token', 't', '--out', '-'],
        /option '--url <url>' argument 'ftp:\/\/x' is invalid. must be an http:\/\/ or https:\/\/ URL/
      ],
      [['--url', 'http://x', '--out', '-'], /required option '--token <token>' not specified/],
      [['--url', 'http://x', '--token', 't', '--out', 'lpt1'], /option '--out <target>' argument 'lpt1' is invalid. must be tcp:\/\/HOST\[:PORT\]/],
      [
        ['--url', 'http://x', '--token', 't', '--out', 'tcp://printer:70000'],
        /option '--out <target>' argument 'tcp:\/\/printer:70000' is invalid. port 70000/
      ],
      [
        ['--url', 'http://x', '--token', 't', '--out', '-', '--language', 'zpl'],
        /option '--language <language>' argument 'zpl' is invalid. Allowed choices are esc-pos, star-prnt/
      ],
      [
        ['--url', 'http://x', '--token', 't', '--out', '-', '--columns', '40'],
        /option '--columns <columns>' argument '40' is invalid. Allowed choices are 32, 42, 48/
      ]
    ]
    await Promise.all(
      cases.map(async ([args, message]) => {
        const wrong = agent(args)
        expect(await wrong.exited, args.join(' ')).toBe(1)
        expect(wrong.stderr()).toMatch(message)
      })
    )
  }, 180_000)
})
