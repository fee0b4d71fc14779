import { serviceSettingsSchema } from '@marketmesh/shared'

export const settingsSchema = serviceSettingsSchema({})
