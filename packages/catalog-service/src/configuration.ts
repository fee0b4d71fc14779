import { Type } from '@feathersjs/typebox'
import { baseEnvironment, serviceSettingsSchema } from '@marketmesh/shared'

export const settingsSchema = serviceSettingsSchema({
  /** Page sizes of the lists (`$limit`): the default and the most a caller may ask for. */
  paginate: Type.Object({
    default: Type.Integer({ minimum: 1 }),
    max: Type.Integer({ minimum: 1 })
  })
})

export const environment: typeof baseEnvironment = {
  ...baseEnvironment,
  PAGINATE_DEFAULT: ['paginate.default', 'integer'],
  PAGINATE_MAX: ['paginate.max', 'integer']
}

declare module '@marketmesh/shared' {
  interface ServiceConfiguration {
    paginate: { default: number; max: number }
  }
}
