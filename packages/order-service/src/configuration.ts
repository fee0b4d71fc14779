import { Type } from '@feathersjs/typebox'
import { baseEnvironment, durationSetting, serviceSettingsSchema } from '@marketmesh/shared'

export const settingsSchema = serviceSettingsSchema({
  /** Page sizes of the lists (`$limit`): the default and the most a caller may ask for. */
  paginate: Type.Object({
    default: Type.Integer({ minimum: 1 }),
    max: Type.Integer({ minimum: 1 })
  }),
  /** How long the response to a request with an Idempotency-Key is kept for its replays, e.g. `24h`. */
  idempotencyKeyTtl: durationSetting
})

export const environment: typeof baseEnvironment = {
  ...baseEnvironment,
  PAGINATE_DEFAULT: ['paginate.default', 'integer'],
  PAGINATE_MAX: ['paginate.max', 'integer'],
  IDEMPOTENCY_KEY_TTL: ['idempotencyKeyTtl', 'string']
}

declare module '@marketmesh/shared' {
  interface ServiceConfiguration {
    paginate: { default: number; max: number }
    idempotencyKeyTtl: string
  }
}
