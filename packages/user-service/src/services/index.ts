import type { ServiceApplication } from '@marketmesh/shared'
import { devices } from './devices/devices'
import { emailVerifications } from './email-verifications/email-verifications'
import { passwordResets } from './password-resets/password-resets'
import { users } from './users/users'

export const services = (app: ServiceApplication) => {
  app.configure(users)
  app.configure(devices)
  app.configure(passwordResets)
  app.configure(emailVerifications)
}
