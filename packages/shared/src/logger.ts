import { pino, type Logger } from 'pino'

export type { Logger }

// No AsyncLocalStorage for the request id: on Node 20 it hooks every promise of the process, and
// bench/catalog-get's ratio to bare Koa rose by about 0.06 without it. The request id is passed instead: on the request's
// log lines, in `params.requestId`, and to the events a transaction emits (`setEventCause`).
/** JSON lines for machines; pretty when a person watches a terminal (or LOG_PRETTY=1). */
export const createLogger = (options: { name: string; level: string }): Logger => {
  const pretty = process.env.LOG_PRETTY === '1' || (process.stdout.isTTY && process.env.LOG_PRETTY !== '0')
  return pino({
    name: options.name,
    level: options.level,
    ...(pretty ? { transport: { target: 'pino-pretty', options: { ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l' } } } : {})
  })
}
