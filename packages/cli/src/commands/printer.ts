import { InvalidArgumentError, Option, type Command } from 'commander'
import { PRINTER_LANGUAGES, RECEIPT_COLUMNS, type PrinterLanguage, type ReceiptColumns } from '@marketmesh/receipts'
import { runPrinterAgent } from '../printer/agent'
import { parseOutput, type PrinterOutput } from '../printer/output'
import { defaultStatePath } from '../printer/state'

const parseUrl = (value: string) => {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new InvalidArgumentError('must be the URL of notify-service, e.g. http://notify.example.com:3034')
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError('must be an http:// or https:// URL')
  return url.href.replace(/\/+$/, '')
}

const parseToken = (value: string) => {
  if (value.trim() === '') throw new InvalidArgumentError('must not be empty: the token POST /devices showed when the device was added')
  return value.trim()
}

const outputArgument = (value: string) => {
  try {
    return parseOutput(value)
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message)
  }
}

const parseColumns = (value: string) => {
  const columns = Number(value)
  if (!RECEIPT_COLUMNS.includes(columns as ReceiptColumns)) {
    throw new InvalidArgumentError(`Allowed choices are ${RECEIPT_COLUMNS.join(', ')} (characters a line: 32 on 58 mm paper, 42 or 48 on 80 mm).`)
  }
  return columns as ReceiptColumns
}

interface PrinterFlags {
  url: string
  token: string
  out: PrinterOutput
  language: PrinterLanguage
  columns: ReceiptColumns
  state: string
}

const logLine = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`)

export const registerPrinterCommand = (program: Command) =>
  program
    .command('printer')
    .description(
      "Run a printer agent: print the shop's paid orders on a receipt printer as they come, once each (the reference appliance, e.g. a Raspberry Pi beside a network printer)"
    )
    .addOption(new Option('--url <url>', 'notify-service base URL').env('MARKETMESH_NOTIFY_URL').argParser(parseUrl).makeOptionMandatory())
    .addOption(
      new Option('--token <token>', 'the device token (POST /devices)').env('MARKETMESH_DEVICE_TOKEN').argParser(parseToken).makeOptionMandatory()
    )
    .addOption(
      new Option('--out <target>', 'tcp://HOST[:PORT] (raw port, 9100 by default), file:PATH or - (stdout)')
        .argParser(outputArgument)
        .makeOptionMandatory()
    )
    .addOption(new Option('--language <language>', 'printer command language').choices(PRINTER_LANGUAGES).default('esc-pos'))
    .addOption(new Option('--columns <columns>', 'characters a line (32, 42, 48)').argParser(parseColumns).default(42))
    .addOption(new Option('--state <file>', 'state file: where the stream was left and which jobs were printed').default(defaultStatePath()))
    .action(async (flags: PrinterFlags) => {
      const stopping = new AbortController()
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stopping.abort())
      logLine(`printing to ${flags.out.description} in ${flags.language}, ${flags.columns} columns; state in ${flags.state}`)
      await runPrinterAgent({
        url: flags.url,
        token: flags.token,
        output: flags.out,
        language: flags.language,
        columns: flags.columns,
        statePath: flags.state,
        log: logLine,
        signal: stopping.signal
      })
      logLine('stopped')
    })
