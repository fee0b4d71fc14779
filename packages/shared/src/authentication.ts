import {
  AuthenticationService,
  JWTStrategy,
  type AuthenticationParams,
  type AuthenticationRequest
} from '@feathersjs/authentication'
import { NotAuthenticated } from '@feathersjs/errors'
import type { Principal, ServiceApplication } from './declarations'
import type { BaseSettings } from './settings'

const roles: ReadonlyArray<Principal['role']> = ['buyer', 'seller', 'admin', 'device']

/** The caller, from the claims user-service signs into every access token. */
export const principalFromPayload = (payload: Record<string, unknown>): Principal => {
  const { sub, role, sellerId } = payload
  if (typeof sub !== 'string' || !roles.includes(role as Principal['role'])) {
    throw new NotAuthenticated('Access token lacks a subject or role')
  }
  return { id: sub, role: role as Principal['role'], ...(typeof sellerId === 'string' ? { sellerId } : {}) }
}

/** The JWT strategy of every service: the verified token becomes `params.principal`. */
export class PrincipalJWTStrategy extends JWTStrategy {
  override async authenticate(authentication: AuthenticationRequest, params: AuthenticationParams) {
    const result = await super.authenticate(authentication, params)
    return { ...result, principal: principalFromPayload(result.authentication.payload) }
  }
}

/** The Feathers authentication settings, from the shared `jwt` settings: one token format everywhere. */
export const authenticationSettings = (jwt: BaseSettings['jwt'], entity: string | null = null) => ({
  secret: jwt.secret,
  entity,
  authStrategies: ['jwt'],
  jwtOptions: {
    header: { typ: 'access' },
    audience: jwt.audience,
    issuer: jwt.issuer,
    algorithm: 'HS256',
    expiresIn: jwt.accessTokenExpiresIn
  }
})

/**
 * Stateless JWT verification (Feathers' "stateless JWT" recipe, `entity: null`) for the services
 * that do not own users: no database look-up per request, and no login endpoint.
 */
export const statelessAuthentication = (app: ServiceApplication) => {
  app.set('authentication', authenticationSettings(app.get('jwt')))
  const authentication = new AuthenticationService(app)
  authentication.register('jwt', new PrincipalJWTStrategy())
  app.use('authentication', authentication, { methods: [] })
}
