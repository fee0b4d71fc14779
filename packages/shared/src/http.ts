import { randomUUID } from 'node:crypto'
import type { Server } from 'node:http'
import type { Duplex } from 'node:stream'
import { errors, FeathersError } from '@feathersjs/errors'
import type { Middleware } from '@feathersjs/koa'
import { databaseErrorOf, fromDatabaseError } from './database-errors'
import { REQUEST_ID_HEADER } from '@marketmesh/events'
import type { Logger } from './logger'
import { fieldName } from './validators'

const acceptableRequestId = /^[\w.:-]{1,128}$/

/** Takes the caller's X-Request-Id (or makes one), echoes it, and puts it on `ctx.state` and params. */
export const requestId = (): Middleware => async (ctx, next) => {
  const given = ctx.get(REQUEST_ID_HEADER)
  const id = acceptableRequestId.test(given) ? given : randomUUID()
  ctx.state.requestId = id
  ctx.set(REQUEST_ID_HEADER, id)
  ctx.feathers = { ...ctx.feathers, requestId: id }
  await next()
}

/**
 * Every error leaves as a Feathers error. Errors from Koa middleware that carry a 4xx status
 * (a malformed JSON body, a body too large) keep that status; a database error gets the status
 * its SQLSTATE calls for and a message of ours; anything else is a 500. What the caller is not
 * told (SQL, stack, internal names) stays in the log.
 */
export const errorHandler =
  (logger: Logger): Middleware =>
  async (ctx, next) => {
    try {
      await next()
      if (ctx.body === undefined && ctx.status === 404) throw new errors.NotFound(`Path ${ctx.path} not found`)
    } catch (error) {
      const feathersError = toFeathersError(error as Error & { status?: number; expose?: boolean })
      if (feathersError.code >= 500) logger.error({ err: error, requestId: ctx.state.requestId }, 'request failed')
      // A 4xx the database had to find: the input should have been refused by a schema before.
      else if (databaseErrorOf(error)) logger.warn({ err: error, requestId: ctx.state.requestId }, 'input refused by the database, not by a schema')
      ctx.status = feathersError.code
      ctx.body = feathersError.toJSON()
    }
  }

interface SchemaError {
  instancePath: string
  message?: string
  params?: { missingProperty?: string; additionalProperty?: string }
}

const isSchemaErrorList = (data: unknown): data is SchemaError[] =>
  Array.isArray(data) && data.length > 0 && data.every((entry) => typeof entry?.instancePath === 'string')

/** Schema validation says only "validation failed"; the caller is told which fields and why. */
const nameTheFields = (error: FeathersError) => {
  if (error.code !== 400 || !isSchemaErrorList(error.data)) return error
  const problems = error.data.map((entry) => {
    const unknown = entry.params?.additionalProperty
    const field = fieldName(entry.instancePath, entry.params?.missingProperty ?? unknown)
    return `${field || 'body'}: ${unknown === undefined ? (entry.message ?? 'is invalid') : 'is not a known field'}`
  })
  error.message = `Invalid ${[...new Set(problems)].join('; ')}`
  return error
}

const toFeathersError = (error: Error & { status?: number; expose?: boolean }): FeathersError => {
  const databaseError = databaseErrorOf(error)
  if (databaseError) return fromDatabaseError(databaseError)
  // A 500's message is an internal one (libraries wrap whatever went wrong in a GeneralError).
  if (error instanceof FeathersError) return error.code === 500 ? new errors.GeneralError('Internal server error') : nameTheFields(error)
  const status = error.status ?? 500
  const ErrorClass = (errors as unknown as Record<number, new (message: string) => FeathersError>)[status]
  if (status >= 400 && status < 500) {
    const message = /JSON/i.test(error.message) ? `Malformed JSON body: ${error.message}` : error.message
    return ErrorClass ? new ErrorClass(message) : new errors.BadRequest(message)
  }
  return new errors.GeneralError('Internal server error')
}

const unparsable: Record<string, [status: number, reason: string, message: string]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large', 'The request line and headers are too large (16 KB at most)'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout', 'The request did not arrive in time']
}

/**
 * Node answers a request it cannot parse (headers too large, a malformed request line) with an
 * empty 400 or 431 of its own: here it says why, as JSON like every other error.
 */
export const answerUnparsableRequests = (server: Server) =>
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable) return socket.destroy()
    const [code, reason, message] = unparsable[error.code ?? ''] ?? [400, 'Bad Request', 'Malformed HTTP request']
    const body = JSON.stringify({ name: reason.replaceAll(' ', ''), message, code, className: reason.toLowerCase().replaceAll(' ', '-') })
    socket.end(
      `HTTP/1.1 ${code} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
    )
  })
