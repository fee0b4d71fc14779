import { hooks as schemaHooks } from '@feathersjs/schema'
import {
  answersPath,
  authenticationSettings,
  durationMs,
  noQueryValidator,
  PrincipalJWTStrategy,
  type ServiceApplication,
  rateLimitedHttp
} from '@marketmesh/shared'
import { userPath } from '../services/users/users.shared'
import { limitFailedLogins, recordLastLogin } from './hooks'
import { JWKS_PATH, jwksRoute } from './jwks'
import { PasswordStrategy } from './local'
import { RefreshTokenStrategy } from './refresh'
import { authenticationDataValidator } from './schema'
import { UserAuthenticationService } from './service'
import { SessionStore } from './sessions'
import { tokenKeysFrom } from './token-keys'

/**
 * user-service owns the users, so it is the one service with a login: `local` (email + password),
 * `refresh` (rotating refresh tokens) and `jwt`, whose access tokens every service verifies with the
 * public keys served at /.well-known/jwks.json.
 */
export const authentication = (app: ServiceApplication) => {
  const { signingKey, publicKeys } = tokenKeysFrom(app.settings)
  app.set('authentication', {
    ...authenticationSettings('user'),
    service: userPath,
    authStrategies: ['local', 'refresh', 'jwt'],
    // Only access tokens come in the Authorization header.
    parseStrategies: ['jwt'],
    local: { usernameField: 'email', passwordField: 'password', errorMessage: 'Invalid login' }
  })
  const sessions = new SessionStore(app.get('postgresqlClient'), {
    lifetimeMs: durationMs(app.get('refreshTokenExpiresIn')),
    reuseGraceMs: durationMs(app.get('refreshTokenReuseGrace'))
  })
  const service = new UserAuthenticationService(app, sessions, signingKey, publicKeys)
  service.register('jwt', new PrincipalJWTStrategy())
  service.register('local', new PasswordStrategy(sessions, app.get('postgresqlClient')))
  service.register('refresh', new RefreshTokenStrategy(sessions))

  app.use('authentication', service, { methods: ['create', 'remove'], koa: { before: [rateLimitedHttp()] } })
  app.service('authentication').hooks({
    around: { create: [limitFailedLogins()] },
    before: {
      all: [schemaHooks.validateQuery(noQueryValidator)],
      create: [schemaHooks.validateData(authenticationDataValidator)]
    },
    after: { create: [recordLastLogin] }
  })
  app.use(jwksRoute(publicKeys))
  answersPath(app, JWKS_PATH)
}
