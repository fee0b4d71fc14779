import type { HookContext } from '@feathersjs/feathers'
import { resolve } from '@feathersjs/schema'
import { getValidator, Type, type Static } from '@feathersjs/typebox'
import { publicQuerySyntax, queryValidator } from '@marketmesh/shared'

export const notificationSchema = Type.Object(
  {
    /** Its place in the log: increasing, never reused; the SSE message's `id`. */
    id: Type.Integer(),
    /** The event type (`order.paid`, `user.registered`, …), `announcement`, later `print.job`. */
    type: Type.String(),
    data: Type.Unknown(),
    createdAt: Type.String({ format: 'date-time' })
  },
  { $id: 'Notification', additionalProperties: false }
)
export type Notification = Static<typeof notificationSchema>

/** A row of the log: the notification and who may see it. */
export interface NotificationRow extends Notification {
  userId: string | null
  sellerId: string | null
  everyone: boolean
  devices: boolean
  eventId: string | null
  /** The trace its SSE deliveries continue (docs/operations.md, Tracing). */
  traceparent: string | null
}

// node-postgres reads a bigint as a string; the ids of any log this service keeps stay below 2^53.
export const notificationResolver = resolve<NotificationRow, HookContext>({
  id: async (id) => Number(id)
})

// Who may see a row, and the trace it continues, are the service's business, not the caller's.
export const notificationExternalResolver = resolve<NotificationRow, HookContext>({
  userId: async () => undefined,
  sellerId: async () => undefined,
  everyone: async () => undefined,
  devices: async () => undefined,
  eventId: async () => undefined,
  traceparent: async () => undefined
})

// Who may see a row (its audience columns) is neither filtered nor selected by the caller.
export const notificationQuerySchema = publicQuerySyntax(Type.Pick(notificationSchema, ['id', 'type', 'createdAt']), [
  'id',
  'type',
  'data',
  'createdAt'
])
export type NotificationQuery = Static<typeof notificationQuerySchema>
export const notificationQueryValidator = getValidator(notificationQuerySchema, queryValidator)
