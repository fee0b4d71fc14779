import { Type, type Static } from '@feathersjs/typebox'
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
  PAGINATE_DEFAULT: 'paginate.default',
  PAGINATE_MAX: 'paginate.max'
}

// The app's settings are what its schema says: `app.get('mail')` is typed from it, declared nowhere else.
declare module '@marketmesh/shared' {
  interface ServiceConfiguration extends Static<typeof settingsSchema> {}
}
