import { JWTStrategy, type AuthenticationParams, type AuthenticationRequest } from '@feathersjs/authentication'
import { NotAuthenticated } from '@feathersjs/errors'
import { hooks as schemaHooks } from '@feathersjs/schema'
import { getValidator, Type } from '@feathersjs/typebox'
import { noQueryValidator } from './query'
import { dataValidator } from './validators'
import type { Principal, ServiceApplication } from './declarations'
import { AccessTokenAuthenticationService } from './tokens/authentication-service'
import { verificationKeysFrom } from './tokens/verification-keys'

const roles: ReadonlyArray<Principal['role']> = ['buyer', 'seller', 'admin', 'device']

/** The caller, from the claims user-service signs into every access token. */
export const principalFromPayload = (payload: Record<string, unknown>): Principal => {
  const { sub, role, sellerId, email_verified: emailVerified } = payload
  if (typeof sub !== 'string' || !roles.includes(role as Principal['role'])) {
    throw new NotAuthenticated('Access token lacks a subject or role')
  }
  return {
    id: sub,
    role: role as Principal['role'],
    ...(typeof sellerId === 'string' ? { sellerId } : {}),
    ...(typeof emailVerified === 'boolean' ? { emailVerified } : {})
  }
}

/** The JWT strategy of every service: the verified token becomes `params.principal`. */
export class PrincipalJWTStrategy extends JWTStrategy {
  override async authenticate(authentication: AuthenticationRequest, params: AuthenticationParams) {
    const result = await super.authenticate(authentication, params)
    return { ...result, principal: principalFromPayload(result.authentication.payload) }
  }
}

/**
 * The Feathers authentication settings. No `secret` and no `jwtOptions`: the token format is the
 * shared `jwt` settings', signed and verified by AccessTokenAuthenticationService.
 */
export const authenticationSettings = (entity: string | null = null) => ({ entity, authStrategies: ['jwt'] })

/** What POST /authentication takes on a service without a login: an access token to check, nothing else. */
export const accessTokenCheckSchema = Type.Object(
  { strategy: Type.Literal('jwt'), accessToken: Type.String({ minLength: 1, maxLength: 5_000 }) },
  { $id: 'AccessTokenCheck', additionalProperties: false }
)
const accessTokenCheckValidator = getValidator(accessTokenCheckSchema, dataValidator)

/**
 * Stateless JWT verification (Feathers' "stateless JWT" recipe, `entity: null`) for the services
 * that do not own users: no database look-up per request, no login, and public keys only.
 *
 * `POST /authentication {strategy: "jwt", accessToken}` answers the token's identity and the token
 * itself (no new one), and `DELETE /authentication` checks it: what Feathers' standard
 * authentication client calls in `reAuthenticate()` and `logout()`, so an app that connects one
 * such client per service works on every service with user-service's access token.
 */
export const statelessAuthentication = (app: ServiceApplication) => {
  app.set('authentication', authenticationSettings())
  const authentication = new AccessTokenAuthenticationService(app, verificationKeysFrom(app.get('jwt')))
  authentication.register('jwt', new PrincipalJWTStrategy())
  app.use('authentication', authentication, { methods: ['create', 'remove'] })
  app.service('authentication').hooks({
    before: {
      all: [schemaHooks.validateQuery(noQueryValidator)],
      // Only the access token's own strategy: a device's token is checked where it is used.
      create: [schemaHooks.validateData(accessTokenCheckValidator), (context) => void (context.params.authStrategies = ['jwt'])],
      // Feathers' remove checks the token of the request's Authorization header: without one there is nothing to check.
      remove: [
        (context) => {
          if (!context.params.authentication) throw new NotAuthenticated('No access token')
        }
      ]
    }
  })
}
