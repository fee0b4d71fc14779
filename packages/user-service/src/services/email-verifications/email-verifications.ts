import { hooks as schemaHooks } from '@feathersjs/schema'
import { authenticated, noQueryValidator, requireRole, type ServiceApplication, rateLimitedHttp } from '@marketmesh/shared'
import { answerAccepted } from '../../hooks/answer-accepted'
import { EmailVerificationConfirmationService, EmailVerificationService } from './email-verifications.class'
import { emailVerificationConfirmationDataValidator, emailVerificationDataValidator } from './email-verifications.schema'
import {
  emailVerificationConfirmationMethods,
  emailVerificationConfirmationPath,
  emailVerificationMethods,
  emailVerificationPath
} from './email-verifications.shared'
import { limitVerificationRequests } from './hooks'

export * from './email-verifications.class'
export * from './email-verifications.schema'

/**
 * Verifying an email: registration (and a change of email) mails a link; POST /email-verifications
 * mails a new one to the caller; POST /email-verifications/confirm takes the link's token, which the
 * link carries in its fragment (`#token=`) so that no access log keeps it.
 */
export const emailVerifications = (app: ServiceApplication) => {
  app.use(emailVerificationPath, new EmailVerificationService(app), {
    methods: [...emailVerificationMethods],
    events: [],
    koa: { before: [rateLimitedHttp()] }
  })
  app.service(emailVerificationPath).hooks({
    around: {
      // The query is refused first, before the caller and the limit (as at checkout).
      all: [schemaHooks.validateQuery(noQueryValidator)],
      create: [authenticated(), requireRole('buyer', 'seller', 'admin'), limitVerificationRequests]
    },
    before: { create: [schemaHooks.validateData(emailVerificationDataValidator)] },
    after: { create: [answerAccepted] }
  })
  app.use(emailVerificationConfirmationPath, new EmailVerificationConfirmationService(app), {
    methods: [...emailVerificationConfirmationMethods],
    events: []
  })
  app.service(emailVerificationConfirmationPath).hooks({
    before: {
      all: [schemaHooks.validateQuery(noQueryValidator)],
      create: [schemaHooks.validateData(emailVerificationConfirmationDataValidator)]
    }
  })
}

declare module '@marketmesh/shared' {
  interface ServiceTypes {
    [emailVerificationPath]: EmailVerificationService
    [emailVerificationConfirmationPath]: EmailVerificationConfirmationService
  }
}
