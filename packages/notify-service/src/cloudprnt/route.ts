import type { Middleware, ParameterizedContext } from 'koa'
import { FeathersError, MethodNotAllowed, NotFound } from '@feathersjs/errors'
import { runInTransaction } from '@marketmesh/events'
import { printableLine, type ServiceApplication } from '@marketmesh/shared'
import { renderReceipt, renderReceiptText } from '@marketmesh/receipts'
import { claimNextJob, jobFromRow, printJobMessage, takeDeviceStep, type Device } from '../printing/print-job'
import { authenticatePrinter } from './authenticate'
import { checked, confirmationCheck, jobRequestCheck, pollCheck } from './cloudprnt.schema'

export const CLOUDPRNT_PATH = '/cloudprnt'

const STARPRNT = 'application/vnd.star.starprnt'
const TEXT = 'text/plain'
/** What a job is offered in, preferred first: the printer picks one it supports. */
export const MEDIA_TYPES = [STARPRNT, TEXT]

// Feathers has no error class of its own for it; CloudPRNT asks for a 415.
const unsupportedType = () =>
  new FeathersError(`Invalid type: ${MEDIA_TYPES.join(' or ')}`, 'UnsupportedMediaType', 415, 'unsupported-media-type', {})

const decoded = (code: string) => {
  try {
    return decodeURIComponent(code.replace(/\+/g, ' '))
  } catch {
    return code
  }
}

/**
 * POST: the printer's poll. It marks the device seen, and when the printer can print (a status
 * code of 2xx, no job in progress) claims the shop's oldest queued job for it: the job is
 * `printing` from the moment its `jobToken` is handed out, since the GET that fetches it must
 * have no side effect. A claim is never handed out again: a printer that does not confirm it
 * within `printing.confirmTimeout` leaves it `unconfirmed`, as an SSE device would.
 */
const poll = async (app: ServiceApplication, ctx: ParameterizedContext, device: Device) => {
  const { statusCode, printingInProgress } = checked(pollCheck, ctx.request.body ?? {})
  app.get('printerPresence').polled(device.id)
  const ready = decoded(statusCode).startsWith('2') && printingInProgress !== true
  const job = ready ? await runInTransaction(app.get('postgresqlClient'), (trx) => claimNextJob(app, trx, device, 'cloudprnt')) : undefined
  ctx.body = job ? { jobReady: true, mediaTypes: MEDIA_TYPES, jobToken: job.id } : { jobReady: false }
}

/** GET: the claimed job, rendered in the requested media type. Side-effect free: the same bytes every time. */
const fetchJob = async (app: ServiceApplication, ctx: ParameterizedContext, device: Device) => {
  const { type, token } = checked(jobRequestCheck, ctx.query)
  if (!MEDIA_TYPES.includes(type)) throw unsupportedType()
  const row = await app.get('postgresqlClient')('print_jobs').first().where({ id: token, deviceId: device.id, status: 'printing' })
  if (!row) throw new NotFound(`No print job '${token}' claimed by this printer`)
  const printable = printJobMessage(jobFromRow(row))
  const columns = app.get('printing').cloudprntColumns
  ctx.type = type
  ctx.body = type === TEXT ? renderReceiptText(printable, { columns }) : Buffer.from(renderReceipt(printable, { language: 'star-prnt', columns }))
}

/** DELETE: the printer's word on the job: `OK` printed, anything else failed with that code. */
const confirm = async (app: ServiceApplication, ctx: ParameterizedContext, device: Device) => {
  const { code, token } = checked(confirmationCheck, ctx.query)
  // Shown to the seller as the job's error: one printable line, whatever the firmware (or a forged request) sent.
  const text = printableLine(decoded(code)).trim()
  const change = /^(OK|2\d\d)\b/i.test(text)
    ? { status: 'printed' as const }
    : { status: 'failed' as const, error: `CloudPRNT ${text}`.slice(0, 500) }
  const job = await runInTransaction(app.get('postgresqlClient'), (trx) => takeDeviceStep(app, trx, token, change, device, 'cloudprnt'))
  ctx.body = { jobId: job.id, status: job.status }
}

const methods: Record<string, typeof poll> = { POST: poll, GET: fetchJob, DELETE: confirm }

/** Star CloudPRNT (HTTP version) at `/cloudprnt`, for printers that poll instead of streaming. */
export const cloudprntRoute =
  (app: ServiceApplication): Middleware =>
  async (ctx, next) => {
    if (ctx.path !== CLOUDPRNT_PATH) return next()
    const handle = methods[ctx.method]
    if (!handle) throw new MethodNotAllowed('CloudPRNT takes POST (poll), GET (the job) and DELETE (its confirmation)')
    await handle(app, ctx, await authenticatePrinter(app, ctx))
  }
