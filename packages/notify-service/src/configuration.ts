import { Type } from '@feathersjs/typebox'
import { baseEnvironment, durationSetting, serviceSettingsSchema } from '@marketmesh/shared'

export const settingsSchema = serviceSettingsSchema({
  /** Page sizes of `GET /notifications` (`$limit`): the default and the most a caller may ask for. */
  paginate: Type.Object({
    default: Type.Integer({ minimum: 1 }),
    max: Type.Integer({ minimum: 1 })
  }),
  /** How long notifications are kept for replay; a client resuming from before gets `resync`. */
  notificationRetention: durationSetting
})

export const environment: typeof baseEnvironment = {
  ...baseEnvironment,
  PAGINATE_DEFAULT: ['paginate.default', 'integer'],
  PAGINATE_MAX: ['paginate.max', 'integer'],
  NOTIFICATION_RETENTION: ['notificationRetention', 'string']
}

declare module '@marketmesh/shared' {
  interface ServiceConfiguration {
    paginate: { default: number; max: number }
    notificationRetention: string
  }
}
