import type { Server } from 'node:http'
import type { HookContext, NextFunction } from '@feathersjs/feathers'
import { answersPath, keepsResponsesOpen, type ServiceApplication } from '@marketmesh/shared'
import { endStreamsRevokedMeanwhile, STREAM_CONTROL_CHANNEL } from './control'
import { StreamHub } from './hub'
import { LogTail } from './log-tail'
import { STREAM_PATH, streamRoute } from './route'

/** `GET /stream` on this instance: its streams and the tail of the log that feeds them. */
export const stream = (app: ServiceApplication) => {
  const hub = new StreamHub(app)
  const tail = new LogTail({
    db: app.get('postgresqlClient'),
    connection: app.get('postgresql').connection,
    hub,
    logger: app.get('logger'),
    controlChannel: STREAM_CONTROL_CHANNEL,
    onControl: (owner) => hub.end(owner),
    onListening: () => endStreamsRevokedMeanwhile(app.get('postgresqlClient'), hub)
  })
  app.set('streams', hub)
  app.use(streamRoute(app, hub))
  answersPath(app, STREAM_PATH)
  keepsResponsesOpen(app, STREAM_PATH)
  app.hooks({
    setup: [
      async (context: HookContext<ServiceApplication> & { server?: Server }, next: NextFunction) => {
        await next()
        await tail.start()
        // Streams never end by themselves: they would hold a graceful shutdown until its timeout.
        context.server?.once('closing', () => hub.close())
      }
    ],
    teardown: [
      async (_context: HookContext, next: NextFunction) => {
        hub.close()
        await tail.stop()
        await next()
      }
    ]
  })
}

declare module '@marketmesh/shared' {
  interface ServiceConfiguration {
    streams: StreamHub
  }
}
