import { LocalStrategy } from '@feathersjs/authentication-local'
import { NotAuthenticated } from '@feathersjs/errors'
import type { NextFunction } from '@feathersjs/feathers'
import { invalidField } from '@marketmesh/shared'
import { limitPasswordGuesses } from '../../../password-guesses'
import type { UserHookContext, UserPatch } from '../users.class'
import { dataOf } from './data-of'

/**
 * Around hook of PATCH /users/:id: changing one's own email or password takes the current password
 * (`currentPassword`), so that a stolen access token or an unlocked device cannot take the account
 * over. Missing or wrong: 400 naming `currentPassword`, and nothing changes. A wrong one is a
 * password guess like a failed login (the same limits, then 429). An admin changing another user's
 * email or password gives none: they cannot know it, and helping a locked-out user is their job.
 * It runs ahead of the transaction because the limits count on connections of their own.
 */
export const requireCurrentPassword = async (context: UserHookContext, next: NextFunction) => {
  const patch: UserPatch | undefined = dataOf(context)
  const ownRecord = context.params.provider && context.params.principal?.id === context.id
  if (!ownRecord || (patch?.email === undefined && patch?.password === undefined)) return next()
  const { currentPassword } = patch
  if (typeof currentPassword !== 'string' || currentPassword === '') {
    throw invalidField('currentPassword', 'is required to change the email or password')
  }
  const local = context.app.service('authentication').getStrategy('local')
  if (!(local instanceof LocalStrategy)) throw new Error('users.patch: the local strategy is not registered')
  const user = await context.service._get(context.id!)
  await limitPasswordGuesses(context, user.email, () => local.comparePassword(user, currentPassword)).catch((error) => {
    throw error instanceof NotAuthenticated ? invalidField('currentPassword', 'is not the password of this account') : error
  })
  await next()
}
