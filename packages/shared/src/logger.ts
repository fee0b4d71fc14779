import { pino, type Logger } from 'pino'

export type { Logger }

// The request id is passed explicitly: on the request's log lines and in `params.requestId`; the
// events a request's transaction emits carry it through `withEventCause` (@marketmesh/events).
/** JSON lines for machines; pretty when a person watches a terminal (or LOG_PRETTY=1). */
export const createLogger = (options: { name: string; level: string }): Logger => {
  const pretty = process.env.LOG_PRETTY === '1' || (process.stdout.isTTY && process.env.LOG_PRETTY !== '0')
  return pino({
    name: options.name,
    level: options.level,
    ...(pretty ? { transport: { target: 'pino-pretty', options: { ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l' } } } : {})
  })
}
