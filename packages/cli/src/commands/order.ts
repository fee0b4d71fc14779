import type { Command } from 'commander'
import { addBrokerOptions, withConnection, type BrokerOptions } from '../broker'
import { printable } from '../dead-letter'
import { readOrderLife, type OrderLife } from '../order-life'
import { examples, formatTable, print, printJson } from '../output'
import { addDatabaseOptions, databaseUrl, type ServiceOptions } from '../services'

type OrderOptions = ServiceOptions & BrokerOptions & { json?: boolean }

const time = (value: unknown) => (value ? new Date(value as string).toISOString().replace('T', ' ').slice(0, 19) : '-')
const text = (value: unknown) => (value === null || value === undefined || value === '' ? '-' : printable(String(value)))

/** The human form: one titled table per part of the order's life. */
const formatOrderLife = (life: OrderLife) => {
  const { order } = life
  const sections = [
    `order ${text(order.id)}: ${text(order.status)}${order.reason ? ` (${text(order.reason)})` : ''}, ${text(order.total)} ${text(order.currency)}`,
    `  buyer ${text(order.buyerId)}, seller ${text(order.sellerId)}, checkout ${text(order.checkoutId)}, payment ${text(order.paymentId)}`,
    formatTable(
      ['line', 'quantity', 'unit price'],
      life.lines.map((line) => [text(line.title), text(line.quantity), text(line.unitPrice)])
    )
  ]
  const section = (title: string, header: string[], rows: string[][]) =>
    sections.push(`\n${title}`, rows.length ? formatTable(header, rows) : '(none)')
  section(
    'timeline',
    ['at', 'from', 'to', 'by', 'reason'],
    life.timeline.map(({ at, from, to, by, reason }) => [time(at), text(from), text(to), text(by), text(reason)])
  )
  section(
    'events',
    ['service', 'type', 'id', 'published', 'handled by'],
    life.events.map(({ service, type, id, sentAt, handledBy }) => [
      service,
      type,
      id,
      time(sentAt),
      handledBy.map(({ consumer }) => consumer).join(', ') || '-'
    ])
  )
  section(
    'side effects',
    ['service', 'kind', 'key', 'status', 'attempts', 'last error'],
    life.sideEffects.map(({ service, kind, key, status, attempts, lastError }) => [
      service,
      kind,
      text(key),
      status,
      String(attempts),
      text(lastError?.split('\n')[0])
    ])
  )
  const { payment } = life
  sections.push(
    '\npayment',
    payment
      ? `${text(payment.provider)} ${text(payment.paymentId)}: ${text(payment.status)}, ${text(payment.amount)} authorized, ${text(payment.captured)} captured, ${text(payment.refunded)} refunded ${text(payment.currency)}`
      : '(none)'
  )
  section(
    'refunds',
    ['id', 'amount', 'status', 'reason', 'at'],
    life.refunds.map((refund) => [text(refund.id), text(refund.amount), text(refund.status), text(refund.reason), time(refund.createdAt)])
  )
  section(
    'payouts',
    ['id', 'amount', 'status', 'reference', 'paid at', 'failure'],
    life.payouts.map((payout) => [
      text(payout.id),
      text(payout.amount),
      text(payout.status),
      text(payout.reference),
      time(payout.paidAt),
      text(payout.failureReason)
    ])
  )
  section(
    'print jobs',
    ['id', 'copy', 'status', 'device', 'transport', 'created', 'finished', 'error'],
    life.printJobs.map((job) => [
      text(job.id),
      job.copy ? 'yes' : 'no',
      text(job.status),
      text(job.deviceId),
      text(job.transport),
      time(job.createdAt),
      time(job.finishedAt),
      text(job.error)
    ])
  )
  section(
    'mails',
    ['Message-ID', 'template', 'status', 'sent'],
    life.mails.map(({ messageId, template, status, sentAt }) => [messageId, template, status, time(sentAt)])
  )
  section(
    'dead letters',
    ['queue', 'type', 'failed at', 'error'],
    life.deadLetters.map((letter) => [letter.queue, text(letter.eventType), text(letter.failedAt), text(letter.error?.split('\n')[0])])
  )
  return sections.join('\n')
}

export const registerOrderCommand = (program: Command) =>
  addBrokerOptions(
    addDatabaseOptions(
      program
        .command('order')
        .description(
          "The whole life of one order across the mesh: status and timeline, the events about it and the consumers that handled them, side effects, its checkout's payment, refunds, payouts, print jobs, mails and dead letters (each service's database read-only; dead letters left in place); exit 1 if order-service does not know it"
        )
        .argument('<orderId>', "the order's id")
        .option('--json', 'one JSON document')
        .addHelpText(
          'after',
          examples('marketmesh order 0b6d7c2e-5d0e-4c8a-9d43-0c5b1b8f9a11', 'marketmesh order 0b6d7c2e-5d0e-4c8a-9d43-0c5b1b8f9a11 --json')
        )
    )
  ).action(async (orderId: string, options: OrderOptions) => {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(orderId)) throw new Error(`not an order id: ${printable(orderId)}`)
    const life = await withConnection(options.amqpUrl, (connection) =>
      readOrderLife(orderId.toLowerCase(), (service) => databaseUrl(options, service), { connection, prefix: options.prefix })
    )
    if (!life) {
      process.exitCode = 1
      print(`order-service knows no order ${orderId}`)
      return
    }
    if (options.json) printJson(life)
    else print(formatOrderLife(life))
  })
