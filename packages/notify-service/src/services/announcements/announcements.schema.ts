import type { HookContext } from '@feathersjs/feathers'
import { resolve } from '@feathersjs/schema'
import { getValidator, StringEnum, Type, type Static } from '@feathersjs/typebox'
import { dataValidator, MultiLineText, publicQuerySyntax, queryValidator } from '@marketmesh/shared'

export const announcementSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    message: Type.String(),
    level: StringEnum(['info', 'warning', 'critical']),
    /** After it, the announcement is no longer current; null: until further notice. */
    endsAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    createdAt: Type.String({ format: 'date-time' })
  },
  { $id: 'Announcement', additionalProperties: false }
)
export type Announcement = Static<typeof announcementSchema>

/** A row: the announcement, the admin who made it and its place in the log. */
export interface AnnouncementRow extends Announcement {
  notificationId: string
  createdBy: string
}

// Where it sits in the log and who wrote it stay inside.
export const announcementExternalResolver = resolve<AnnouncementRow, HookContext>({
  notificationId: async () => undefined,
  createdBy: async () => undefined
})

export const announcementDataSchema = Type.Object(
  {
    message: MultiLineText({ minLength: 1, maxLength: 2000 }),
    level: StringEnum(['info', 'warning', 'critical']),
    endsAt: Type.Optional(Type.String({ format: 'date-time' }))
  },
  { $id: 'AnnouncementData', additionalProperties: false }
)
export type AnnouncementData = Static<typeof announcementDataSchema>
export const announcementDataValidator = getValidator(announcementDataSchema, dataValidator)

export const announcementQuerySchema = publicQuerySyntax(Type.Pick(announcementSchema, ['level', 'createdAt']), [
  'id',
  'message',
  'level',
  'endsAt',
  'createdAt'
])
export type AnnouncementQuery = Static<typeof announcementQuerySchema>
export const announcementQueryValidator = getValidator(announcementQuerySchema, queryValidator)
