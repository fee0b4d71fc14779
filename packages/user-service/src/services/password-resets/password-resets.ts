import { hooks as schemaHooks } from '@feathersjs/schema'
import { noQueryValidator, type ServiceApplication, rateLimitedHttp } from '@marketmesh/shared'
import { answerAccepted } from '../../hooks/answer-accepted'
import { normaliseEmail } from '../users/hooks'
import { limitPasswordResetRequests } from './hooks'
import { PasswordResetConfirmationService, PasswordResetService } from './password-resets.class'
import { passwordResetConfirmationDataValidator, passwordResetDataValidator } from './password-resets.schema'
import { passwordResetConfirmationMethods, passwordResetConfirmationPath, passwordResetMethods, passwordResetPath } from './password-resets.shared'

export * from './password-resets.class'
export * from './password-resets.schema'

/**
 * A forgotten password: POST /password-resets mails a link, POST /password-resets/confirm takes its
 * token and a new password. The link has the token in its fragment (`#token=`), which browsers never
 * send to a server, so no access log keeps it; the app reads it and POSTs it.
 */
export const passwordResets = (app: ServiceApplication) => {
  app.use(passwordResetPath, new PasswordResetService(app), {
    methods: [...passwordResetMethods],
    events: [],
    koa: { before: [rateLimitedHttp()] }
  })
  app.service(passwordResetPath).hooks({
    around: {
      // The query is refused first, before the limit (as at checkout).
      all: [schemaHooks.validateQuery(noQueryValidator)],
      create: [limitPasswordResetRequests]
    },
    before: { create: [normaliseEmail, schemaHooks.validateData(passwordResetDataValidator)] },
    after: { create: [answerAccepted] }
  })
  app.use(passwordResetConfirmationPath, new PasswordResetConfirmationService(app), {
    methods: [...passwordResetConfirmationMethods],
    events: []
  })
  app.service(passwordResetConfirmationPath).hooks({
    before: {
      all: [schemaHooks.validateQuery(noQueryValidator)],
      create: [schemaHooks.validateData(passwordResetConfirmationDataValidator)]
    }
  })
}

declare module '@marketmesh/shared' {
  interface ServiceTypes {
    [passwordResetPath]: PasswordResetService
    [passwordResetConfirmationPath]: PasswordResetConfirmationService
  }
}
