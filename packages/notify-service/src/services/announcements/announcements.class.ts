import { randomUUID } from 'node:crypto'
import { KnexService, type KnexAdapterOptions, type KnexAdapterParams } from '@feathersjs/knex'
import type { ServiceApplication } from '@marketmesh/shared'
import { appendNotification } from '../../log/append'
import type { Announcement, AnnouncementData, AnnouncementQuery, AnnouncementRow } from './announcements.schema'

export type { Announcement, AnnouncementData, AnnouncementQuery }

export type AnnouncementParams = KnexAdapterParams<AnnouncementQuery>

/** The SSE message of an announcement (`event: announcement`). */
export const announcementMessage = ({ id, message, level, endsAt, createdAt }: Announcement) => ({ id, message, level, endsAt, createdAt })

/** Announcements; making one writes it to the log for everyone, in the same transaction. */
export class AnnouncementService extends KnexService<AnnouncementRow, AnnouncementData, AnnouncementParams> {
  override async create(data: AnnouncementData, params?: AnnouncementParams): Promise<AnnouncementRow>
  override async create(data: AnnouncementData[], params?: AnnouncementParams): Promise<AnnouncementRow[]>
  override async create(data: AnnouncementData | AnnouncementData[], params: AnnouncementParams = {}): Promise<AnnouncementRow | AnnouncementRow[]> {
    const trx = params.transaction?.trx
    if (Array.isArray(data) || !trx) throw new Error('announcements.create takes one announcement and runs in the transaction of inTransaction()')
    const announcement: Announcement = {
      id: randomUUID(),
      message: data.message,
      level: data.level,
      endsAt: data.endsAt ? new Date(data.endsAt).toISOString() : null,
      createdAt: new Date().toISOString()
    }
    const notificationId = await appendNotification(trx, {
      type: 'announcement',
      data: announcementMessage(announcement),
      audience: { everyone: true }
    })
    const row: AnnouncementRow = { ...announcement, notificationId: String(notificationId), createdBy: params.principal!.id }
    await trx('announcements').insert(row)
    return row
  }
}

export const getOptions = (app: ServiceApplication): KnexAdapterOptions => ({
  paginate: app.get('paginate'),
  Model: app.get('postgresqlClient'),
  name: 'announcements',
  // The "current" condition is an $or of its own beside the caller's filters.
  operators: ['$and']
})
