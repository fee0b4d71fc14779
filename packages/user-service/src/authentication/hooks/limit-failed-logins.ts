import type { HookContext, NextFunction } from '@feathersjs/feathers'
import type { ServiceApplication } from '@marketmesh/shared'
import { limitPasswordGuesses } from '../../password-guesses'

/**
 * Around hook of POST /authentication: a password login is a password guess, counted per email and
 * client IP in PostgreSQL, so every instance of the service enforces the same limit.
 */
export const limitFailedLogins = () => async (context: HookContext<ServiceApplication>, next: NextFunction) => {
  if (context.data?.strategy !== 'local') return next()
  await limitPasswordGuesses(context, String(context.data.email ?? ''), next)
}
