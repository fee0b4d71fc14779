import type { ServiceApplication } from '@marketmesh/shared'
import { devices } from './devices/devices'
import { users } from './users/users'

export const services = (app: ServiceApplication) => {
  app.configure(users)
  app.configure(devices)
}
