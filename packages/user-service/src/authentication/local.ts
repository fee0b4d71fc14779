import type { AuthenticationParams, AuthenticationRequest, AuthenticationResult } from '@feathersjs/authentication'
import { LocalStrategy } from '@feathersjs/authentication-local'
import { NotAuthenticated } from '@feathersjs/errors'
import type { Params } from '@feathersjs/feathers'
import { normalisedEmail } from '../services/users/hooks'
import type { User } from '../services/users/users.schema'
import type { SessionStore } from './sessions'

/** Email + password; a successful login starts a session (a new refresh token family). */
export class PasswordStrategy extends LocalStrategy {
  constructor(private readonly sessions: SessionStore) {
    super()
  }

  override async findEntity(username: string, params: Params) {
    return super.findEntity(typeof username === 'string' ? normalisedEmail(username) : username, params)
  }

  override async authenticate(data: AuthenticationRequest, params: AuthenticationParams) {
    const result = await super.authenticate(data, params)
    const user: User = (result as AuthenticationResult).user
    if (user.status !== 'active') throw new NotAuthenticated('This account is disabled')
    return { ...result, ...(await this.sessions.start(user.id)) }
  }
}
