import type { Paginated, Params } from '@feathersjs/feathers'
import type { ClientApplication } from '../../client'
import type { Announcement, AnnouncementData, AnnouncementQuery } from './announcements.schema'

export type { Announcement, AnnouncementData, AnnouncementQuery }

export interface AnnouncementClientService {
  find(params?: Params<AnnouncementQuery>): Promise<Paginated<Announcement>>
  create(data: AnnouncementData, params?: Params): Promise<Announcement>
}

export const announcementPath = 'announcements'

export const announcementMethods = ['find', 'create'] as const

export const announcementClient = (client: ClientApplication) => {
  const connection = client.get('connection')
  client.use(announcementPath, connection.service(announcementPath), { methods: [...announcementMethods] })
}

declare module '../../client' {
  interface ServiceTypes {
    [announcementPath]: AnnouncementClientService
  }
}
