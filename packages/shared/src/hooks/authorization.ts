import { authenticate } from '@feathersjs/authentication'
import { Forbidden, NotAuthenticated } from '@feathersjs/errors'
import type { HookContext, NextFunction } from '@feathersjs/feathers'
import type { Principal } from '../declarations'

/** Verifies the bearer token; the caller becomes `params.principal`. Internal calls (no provider) pass. */
export const authenticated = () => authenticate('jwt')

/**
 * For what anyone may call: a caller who sends a token is verified (a bad token is refused), one
 * who sends none passes as anonymous. Works as a before or an around hook.
 */
export const optionallyAuthenticated = () => {
  const verify = authenticated()
  return async (context: HookContext, next?: NextFunction) => {
    if (context.params.authentication) return verify(context, next)
    await next?.()
  }
}

/** The verified caller of an external call. */
export const principalOf = (context: HookContext): Principal => {
  const { principal } = context.params
  if (!principal) throw new NotAuthenticated('Not authenticated')
  return principal
}

/**
 * Only callers with one of these roles; internal calls pass. Use after `authenticated()`. Works as a
 * before or an around hook: in `around`, ahead of `inTransaction()`, a caller who may not write is
 * refused without taking a database connection.
 */
export const requireRole =
  (...roles: Principal['role'][]) =>
  async (context: HookContext, next?: NextFunction) => {
    if (context.params.provider) {
      const { role } = principalOf(context)
      if (!roles.includes(role)) throw new Forbidden(`This requires the role ${roles.join(' or ')}`)
    }
    await next?.()
  }
