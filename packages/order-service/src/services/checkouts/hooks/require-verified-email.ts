import { Forbidden } from '@feathersjs/errors'
import type { HookContext, NextFunction } from '@feathersjs/feathers'
import type { ServiceApplication } from '@marketmesh/shared'

/**
 * Around hook of POST /checkouts, after `authenticated()`: with `requireVerifiedEmail` on, a buyer
 * whose access token does not say `email_verified` gets 403. The claim is read from the token, not
 * asked of user-service: a buyer who has just verified refreshes their token (the refresh carries
 * the new claim) and checks out.
 */
export const requireVerifiedEmail = async (context: HookContext<ServiceApplication>, next: NextFunction) => {
  if (context.params.provider && context.app.get('requireVerifiedEmail') && context.params.principal?.emailVerified !== true) {
    throw new Forbidden('Verify your email address before checking out (then refresh your access token)', { reason: 'email-not-verified' })
  }
  await next()
}
