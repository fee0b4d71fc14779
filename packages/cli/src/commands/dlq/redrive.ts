import { Presets, SingleBar } from 'cli-progress'
import { InvalidArgumentError, type Command } from 'commander'
import { consumerQueueNames } from '@marketmesh/shared/ops'
import { addBrokerOptions, queueState, withConnection, type BrokerOptions } from '../../broker'
import { formatLetterLine } from '../../dead-letter'
import { addFilterOptions, describeFilter, filterFrom, positiveInteger, type LetterFilter } from '../../letter-filter'
import { confirm, examples, print, printJson } from '../../output'
import { redrive, type RedriveProgress, type RedriveResult } from '../../dead-letter-redrive'
import { consumerArgument } from './consumer-argument'

interface RedriveOptions extends BrokerOptions {
  type?: string
  error?: string
  since?: number
  id?: string
  limit?: number
  rate?: number
  dryRun?: boolean
  yes?: boolean
  json?: boolean
}

const perSecond = (value: string) => {
  const match = /^([0-9]+(?:\.[0-9]+)?)(?:\/s)?$/.exec(value)
  if (!match || Number(match[1]) <= 0) throw new InvalidArgumentError('expected messages per second, e.g. 200 or 200/s')
  return Number(match[1])
}

const plural = (count: number, word: string) => `${count.toLocaleString('en-US')} ${word}${count === 1 ? '' : 's'}`

/** A bar with rate and ETA on a terminal; nothing otherwise (the summary line says it all). */
const progressBar = () => {
  if (!process.stdout.isTTY) return { update: () => {}, stop: () => {} }
  const bar = new SingleBar(
    { format: 'redrive [{bar}] {percentage}% | read {value}/{total} | moved {moved} | {rate}/s | ETA {eta_formatted}', stream: process.stdout },
    Presets.shades_classic
  )
  const started = Date.now()
  let running = false
  return {
    update: (progress: RedriveProgress) => {
      const payload = { moved: progress.moved, rate: Math.round(progress.moved / Math.max((Date.now() - started) / 1000, 0.001)) }
      if (!running) bar.start(progress.total, 0, payload)
      running = true
      bar.update(progress.scanned, payload)
    },
    stop: () => running && bar.stop()
  }
}

const summary = (result: RedriveResult, names: { queue: string; deadLetterQueue: string }, filter: LetterFilter, seconds: number) => {
  const left = result.total - result.moved
  const rate = seconds > 0 ? `, ${Math.round(result.moved / seconds).toLocaleString('en-US')}/s` : ''
  return (
    `moved ${plural(result.moved, 'dead letter')} (${describeFilter(filter)}) from ${names.deadLetterQueue} back to ${names.queue} in ${seconds.toFixed(1)} s${rate}; ` +
    `${plural(left, 'letter')} left in ${names.deadLetterQueue}`
  )
}

export const registerRedriveCommand = (dlq: Command) =>
  addBrokerOptions(
    addFilterOptions(
      dlq
        .command('redrive')
        .description(
          "Move the dead letters that match back to the consumer's queue for another try: republished with publisher confirms (many in flight), with their message id, attempt 1 and one redrive more in x-redrives, and removed only once confirmed; the others stay. Asks first unless --yes."
        )
        .addArgument(consumerArgument())
    )
      .option('--limit <n>', 'move at most this many', positiveInteger)
      .option('--rate <n/s>', 'move at most this many per second (default: as fast as the broker confirms)', perSecond)
      .option('--dry-run', 'print what would move, move nothing')
      .option('--yes', 'do not ask (required when stdin is not a terminal)')
      .option('--json', 'with --dry-run: the letters that would move, one JSON object a line')
      .addHelpText(
        'after',
        examples(
          'marketmesh dlq redrive catalog-service --type order.created --dry-run',
          'marketmesh dlq redrive order-service --error "payment provider unavailable" --since 1h --yes',
          'marketmesh dlq redrive notify-service --limit 1000 --rate 200/s --yes',
          'marketmesh dlq redrive catalog-service --id 0b6d7c2e-5d0e-4c8a-9d43-0c5b1b8f9a11 --yes'
        )
      )
  ).action(async (consumer: string, options: RedriveOptions) => {
    const names = consumerQueueNames(options.prefix, consumer)
    const filter = filterFrom(options)
    const request = { queue: names.queue, deadLetterQueue: names.deadLetterQueue, filter, limit: options.limit, rate: options.rate }
    await withConnection(options.amqpUrl, async (connection) => {
      if (options.dryRun || !options.yes) {
        const planned = await redrive(connection, { ...request, dryRun: true })
        if (planned.failure) throw planned.failure
        if (options.dryRun) {
          if (options.json) planned.wouldMove.forEach(printJson)
          else {
            for (const letter of planned.wouldMove) print(formatLetterLine(letter))
            print(
              `would move ${plural(planned.matched, 'dead letter')} of ${planned.total} from ${names.deadLetterQueue} back to ${names.queue}; moved nothing`
            )
          }
          return
        }
        if (planned.matched === 0) return print(`no dead letter in ${names.deadLetterQueue} matches (${describeFilter(filter)}); nothing to move`)
        const question = `Move ${plural(planned.matched, 'dead letter')} (${describeFilter(filter)}) from ${names.deadLetterQueue} back to ${names.queue}?`
        const refusal = `redrive moves dead letters back to ${names.queue} and stdin is not a terminal to confirm it: run it again with --yes (or --dry-run to see what it would move)`
        if (!(await confirm(question, refusal))) return print('moved nothing')
      }
      if ((await queueState(connection, names.queue)) === undefined) {
        throw new Error(`${names.queue} is not declared: start ${consumer} once so it declares its queue, then redrive`)
      }
      const bar = progressBar()
      const started = Date.now()
      const result = await redrive(connection, { ...request, onProgress: bar.update })
      bar.stop()
      const line = summary(result, names, filter, (Date.now() - started) / 1000)
      if (result.failure) throw new Error(`redrive stopped: ${result.failure.message}; ${line}`)
      print(line)
      if (options.id !== undefined && result.moved === 0) throw new Error(`no dead letter with message id ${options.id} in ${names.deadLetterQueue}`)
    })
  })
