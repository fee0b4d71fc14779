import type { AuthenticationParams, AuthenticationRequest, AuthenticationResult } from '@feathersjs/authentication'
import { LocalStrategy } from '@feathersjs/authentication-local'
import { NotAuthenticated } from '@feathersjs/errors'
import type { Params } from '@feathersjs/feathers'
import type { Knex } from '@marketmesh/shared'
import { normalisedEmail } from '../email-addresses'
import type { User } from '../services/users/users.schema'
import { PasswordHasher } from './passwords'
import type { SessionStore } from './sessions'

/** What `findEntity` answers for an email without an account: its password check still takes its time, and fails. */
const NO_ACCOUNT = Object.freeze({})

/**
 * Email + password; a successful login starts a session (a new refresh token family). Passwords are
 * hashed with argon2id (`PasswordHasher`), for registrations and changes too (Feathers' `passwordHash`
 * resolver calls `hashPassword`); a correct password under an outdated hash is hashed anew.
 */
export class PasswordStrategy extends LocalStrategy {
  readonly passwords = new PasswordHasher()

  constructor(
    private readonly sessions: SessionStore,
    private readonly db: Knex
  ) {
    super()
  }

  override async findEntity(username: string, params: Params) {
    try {
      return await super.findEntity(typeof username === 'string' ? normalisedEmail(username) : username, params)
    } catch (error) {
      if (error instanceof NotAuthenticated) return NO_ACCOUNT
      throw error
    }
  }

  override async hashPassword(password: string) {
    return this.passwords.hash(password)
  }

  /** Answers the user if `password` is theirs, else NotAuthenticated; an email without an account costs the same check. */
  override async comparePassword(entity: User, password: string) {
    const { errorMessage } = this.configuration
    if (entity === NO_ACCOUNT) {
      await this.passwords.checkDecoy(password)
      throw new NotAuthenticated(errorMessage)
    }
    const hash = entity.password ?? ''
    const { valid, outdated } = await this.passwords.check(hash, password)
    if (!valid) throw new NotAuthenticated(errorMessage)
    // Only if the hash is still the one checked: a password changed meanwhile stays changed.
    if (outdated)
      await this.db('users')
        .where({ id: entity.id, password: hash })
        .update({ password: await this.passwords.hash(password) })
    return entity
  }

  override async authenticate(data: AuthenticationRequest, params: AuthenticationParams) {
    const result = await super.authenticate(data, params)
    const user: User = (result as AuthenticationResult).user
    if (user.status !== 'active') throw new NotAuthenticated('This account is disabled')
    return { ...result, ...(await this.sessions.start(user.id)) }
  }
}
