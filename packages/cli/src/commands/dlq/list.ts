import type { Command } from 'commander'
import { CONSUMERS } from '@marketmesh/shared/ops'
import { addBrokerOptions, withConnection, type BrokerOptions } from '../../broker'
import { examples, formatAge, formatTable, print, printJson } from '../../output'
import { summarizeDeadLetters, type DeadLetterSummary } from './summary'

const formatCounts = (counts: Record<string, number>) =>
  Object.entries(counts)
    .sort(([, a], [, b]) => b - a)
    .map(([key, count]) => `${count} × ${key}`)
    .join('\n      ')

const printSummaries = (summaries: DeadLetterSummary[]) => {
  const rows = summaries.map((summary) => [
    summary.consumer,
    summary.queue,
    summary.declared ? String(summary.depth) : '0 (not declared)',
    summary.oldestAgeSeconds === null ? '-' : `${formatAge(summary.oldestAgeSeconds)} ago`
  ])
  print(formatTable(['consumer', 'dead-letter queue', 'letters', 'oldest'], rows))
  for (const summary of summaries.filter(({ depth }) => depth > 0)) {
    const partial = summary.scanned < summary.depth ? ` (counted over the first ${summary.scanned})` : ''
    print(`\n${summary.consumer}${partial}`)
    print(`  by type:\n      ${formatCounts(summary.byType)}`)
    print(`  by error:\n      ${formatCounts(summary.byError)}`)
  }
}

export const registerListCommand = (dlq: Command) =>
  addBrokerOptions(
    dlq
      .command('list')
      .description(
        "Show every consumer's dead-letter queue: how many letters, the age of the oldest, and counts per event type and per error (first line). Reads them without removing any."
      )
      .option('--json', 'one JSON object per consumer, a line each')
      .addHelpText('after', examples('marketmesh dlq list', 'marketmesh dlq list --json | jq .byError', 'AMQP_PREFIX=staging marketmesh dlq list'))
  ).action(async (options: BrokerOptions & { json?: boolean }) => {
    const summaries = await withConnection(options.amqpUrl, async (connection) => {
      const all: DeadLetterSummary[] = []
      for (const consumer of CONSUMERS) all.push(await summarizeDeadLetters(connection, options.prefix, consumer))
      return all
    })
    if (options.json) summaries.forEach(printJson)
    else printSummaries(summaries)
  })
