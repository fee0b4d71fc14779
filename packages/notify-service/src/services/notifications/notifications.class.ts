import { KnexService, type KnexAdapterOptions, type KnexAdapterParams } from '@feathersjs/knex'
import type { ServiceApplication } from '@marketmesh/shared'
import type { NotificationQuery, NotificationRow } from './notifications.schema'

export type NotificationParams = KnexAdapterParams<NotificationQuery>

/** The notification log over REST, newest first: what an app waking up missed. */
export class NotificationService extends KnexService<NotificationRow, never, NotificationParams> {}

export const getOptions = (app: ServiceApplication): KnexAdapterOptions => ({
  paginate: app.get('paginate'),
  Model: app.get('postgresqlClient'),
  name: 'notifications',
  // The audience condition is an $or of its own beside the caller's filters.
  operators: ['$and']
})
