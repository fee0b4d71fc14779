import type { Paginated, Params } from '@feathersjs/feathers'
import type { ClientApplication } from '../../client'
import type { Notification, NotificationQuery } from './notifications.schema'

export type { Notification, NotificationQuery }

export interface NotificationClientService {
  find(params?: Params<NotificationQuery>): Promise<Paginated<Notification>>
}

export const notificationPath = 'notifications'

export const notificationMethods = ['find'] as const

export const notificationClient = (client: ClientApplication) => {
  const connection = client.get('connection')
  client.use(notificationPath, connection.service(notificationPath), { methods: [...notificationMethods] })
}

declare module '../../client' {
  interface ServiceTypes {
    [notificationPath]: NotificationClientService
  }
}
