import { AsyncLocalStorage } from 'node:async_hooks'
import { pino, type Logger } from 'pino'

export type { Logger }

/** What every log line written while handling one request or one event carries. */
export interface LogContext {
  requestId?: string
  eventId?: string
  eventType?: string
}

const logContext = new AsyncLocalStorage<LogContext>()

/** Runs `fn` so that every log line it writes, however deep, carries `context`. */
export const withLogContext = <T>(context: LogContext, fn: () => T): T =>
  logContext.run({ ...logContext.getStore(), ...context }, fn)

export const currentLogContext = (): LogContext => logContext.getStore() ?? {}

/** JSON lines for machines; pretty when a person watches a terminal (or LOG_PRETTY=1). */
export const createLogger = (options: { name: string; level: string }): Logger => {
  const pretty = process.env.LOG_PRETTY === '1' || (process.stdout.isTTY && process.env.LOG_PRETTY !== '0')
  return pino({
    name: options.name,
    level: options.level,
    mixin: currentLogContext,
    ...(pretty
      ? { transport: { target: 'pino-pretty', options: { ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l' } } }
      : {})
  })
}
