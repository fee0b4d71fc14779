import {
  printableLine,
  renderReceipt,
  validPrintJobMessage,
  type PrinterLanguage,
  type PrintJobMessage,
  type ReceiptColumns
} from '@marketmesh/receipts'
import { sendJobStep } from './device-api'
import type { PrinterOutput } from './output'
import { AgentState, type JobOutcome } from './state'
import { followDeviceStream, type StreamMessage } from './stream'

/** What the service is told of a failure: one printable line of at most 500 characters, as it takes (a Node error message may have several). */
const failureText = (error: unknown) =>
  printableLine((error as Error).message || String(error))
    .trim()
    .slice(0, 500) || 'unknown error'

export interface PrinterAgentOptions {
  url: string
  token: string
  output: PrinterOutput
  language: PrinterLanguage
  columns: ReceiptColumns
  statePath: string
  log: (line: string) => void
  /** Aborted to stop: the job being printed is finished first; an ack not yet taken is sent at the next start. */
  signal: AbortSignal
}

const PRINT_JOB = 'print.job'

/**
 * The printer agent. Each job goes through steps, each written to the state file before it is taken:
 *
 *   claiming ─PATCH printing─► sending ─bytes to the printer─► printed | failed ─PATCH─► done
 *
 * After a crash (SIGKILL, power cut) at any point, the next start finishes what the file says:
 * - `claiming`: the claim may or may not have reached the service; it is sent again (the service
 *   answers a repeated claim by the same device as taken) and the job printed, unless it became
 *   `unconfirmed` or another device's meanwhile (409): then it is not printed.
 * - `sending`: some or all of it may be on paper. It is never sent again: the claim goes
 *   `unconfirmed` and the seller, who can look at the printer, decides to reprint. This is the one
 *   window where "printed once" cannot be known, and it is left to a person rather than risk a
 *   second receipt.
 * - `printed` / `failed`: the outcome is reported (again).
 * A finished job stays remembered (`done`, the last REMEMBERED_JOBS of them), so the replay of its
 * message, or its being resent as queued, never prints it again. The stream resumes after the last
 * message the agent was through with; a job missed while it was away still `queued` is sent on connect.
 */
export const runPrinterAgent = async (options: PrinterAgentOptions) => {
  const { output, log } = options
  const state = await AgentState.load(options.statePath)
  // A refused token (or a state file that cannot be written) stops everything at once; stopping lets the current job finish.
  const fatal = new AbortController()
  const signal = AbortSignal.any([options.signal, fatal.signal])
  const api = { url: options.url, token: options.token, signal }

  const jobLine = (message: PrintJobMessage, what: string) =>
    log(`job ${message.jobId} order ${message.orderId}${message.copy ? ' (copy)' : ''}: ${what}`)

  const finish = (jobId: string, lastEventId?: string) => state.record({ jobId, job: { step: 'done' }, lastEventId })

  const report = async (jobId: string, job: JobOutcome, lastEventId?: string) => {
    const answer = await sendJobStep(api, jobId, job.step === 'printed' ? { status: 'printed' } : { status: 'failed', error: job.error })
    if (!answer) return
    await finish(jobId, lastEventId)
    const outcome = job.step === 'printed' ? `printed on ${output.description}` : `failed on ${output.description}: ${job.error}`
    jobLine(job.message, answer.ok ? outcome : `${outcome}; the service did not take it (HTTP ${answer.status}: ${answer.reason})`)
  }

  const print = async (message: PrintJobMessage, lastEventId?: string) => {
    await state.record({ jobId: message.jobId, job: { step: 'sending', message } })
    let outcome: JobOutcome
    try {
      await output.write(renderReceipt(message, { language: options.language, columns: options.columns }))
      outcome = { step: 'printed', message }
    } catch (error) {
      outcome = { step: 'failed', message, error: failureText(error) }
    }
    await state.record({ jobId: message.jobId, job: outcome })
    await report(message.jobId, outcome, lastEventId)
  }

  const claimAndPrint = async (message: PrintJobMessage, lastEventId?: string) => {
    const claim = await sendJobStep(api, message.jobId, { status: 'printing' })
    if (!claim) return
    if (!claim.ok) {
      await finish(message.jobId, lastEventId)
      return jobLine(message, `not printed here: ${claim.reason}`)
    }
    await print(message, lastEventId)
  }

  const resume = async () => {
    for (const [jobId, job] of state.unfinished()) {
      if (signal.aborted) return
      if (job.step === 'claiming') await claimAndPrint(job.message)
      else if (job.step === 'sending') {
        await finish(jobId)
        jobLine(
          job.message,
          'the agent stopped while sending it to the printer; not sent again (it turns unconfirmed: check the paper, reprint if needed)'
        )
      } else if (job.step !== 'done') await report(jobId, job)
    }
  }

  const handle = async ({ id, data }: StreamMessage) => {
    if (signal.aborted) return
    const lastEventId = id || undefined
    let message: unknown
    try {
      message = JSON.parse(data)
    } catch {
      message = undefined
    }
    if (!validPrintJobMessage(message)) {
      log(`message ${id || '(no id)'} is not a print job as the contract says; skipped`)
      return state.record({ lastEventId })
    }
    if (state.job(message.jobId)) return state.record({ lastEventId })
    await state.record({ jobId: message.jobId, job: { step: 'claiming', message } })
    await claimAndPrint(message, lastEventId)
  }

  await resume()
  let received: string | undefined
  let handled = Promise.resolve()
  let failure: Error | undefined
  await followDeviceStream({
    url: options.url,
    token: options.token,
    types: [PRINT_JOB],
    // What came in is handled in order, also across reconnects: ask for what came after it.
    lastEventId: () => received ?? state.lastEventId,
    onMessage: (message) => {
      if (message.id) received = message.id
      handled = handled
        .then(() => handle(message))
        .catch((error: Error) => {
          failure = error
          fatal.abort()
        })
    },
    log,
    signal
  })
  await handled
  if (failure) throw failure
}
