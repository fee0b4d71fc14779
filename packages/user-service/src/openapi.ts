import { Type } from '@feathersjs/typebox'
import { authenticationResultSchema, kitRoutes, noQuerySchema, type ApiDescription } from '@marketmesh/shared'
import { authenticationDataSchema } from './authentication/schema'
import { JWKS_PATH } from './authentication/jwks'
import { deviceDataSchema, deviceQuerySchema, deviceSchema } from './services/devices/devices.schema'
import {
  emailVerificationConfirmationDataSchema,
  emailVerificationConfirmationSchema,
  emailVerificationDataSchema,
  emailVerificationSchema
} from './services/email-verifications/email-verifications.schema'
import {
  passwordResetConfirmationDataSchema,
  passwordResetConfirmationSchema,
  passwordResetDataSchema,
  passwordResetSchema
} from './services/password-resets/password-resets.schema'
import { userDataSchema, userPatchSchema, userQuerySchema, userSchema } from './services/users/users.schema'

// The answers as callers get them: without what the external resolvers drop.
const userAnswer = Type.Omit(userSchema, ['password'], { $id: 'User', additionalProperties: false })
const deviceAnswer = Type.Omit(deviceSchema, ['tokenHash'], { $id: 'Device', additionalProperties: false })

/** user-service's API, as GET /openapi.json serves it (docs/openapi.md). */
export const api: ApiDescription = {
  title: 'user-service',
  description: 'Users (buyers, sellers, admins), logins and sessions, sellers’ devices, password resets and e-mail verification.',
  server: 'http://localhost:3031',
  services: {
    authentication: {
      description: 'Logs in (strategy local: e-mail and password; refresh: a refresh token) or checks an access token (jwt)',
      result: authenticationResultSchema,
      data: authenticationDataSchema,
      query: noQuerySchema,
      errors: [429],
      methods: {
        create: { summary: 'Log in, refresh or check a token', access: 'public', errors: [401, 429] },
        remove: { summary: 'Log out: ends the session of the access token of the Authorization header', withoutId: true }
      }
    },
    users: {
      result: userAnswer,
      data: userDataSchema,
      patch: userPatchSchema,
      query: userQuerySchema,
      errors: [409, 429],
      methods: {
        create: { summary: 'Register (an admin only by an admin)', access: 'optional' },
        find: { summary: 'List users (an admin: all; others: themselves)' },
        patch: { summary: 'Change one’s own profile (email and password take the current password)' }
      }
    },
    devices: {
      result: deviceAnswer,
      data: deviceDataSchema,
      query: deviceQuerySchema,
      roles: ['seller', 'admin'],
      methods: {
        create: { summary: 'Register a device of one’s shop: the answer has its token, shown this once', roles: ['seller'] },
        remove: { summary: 'Revoke a device' }
      }
    },
    'password-resets': {
      result: passwordResetSchema,
      data: passwordResetDataSchema,
      query: noQuerySchema,
      access: 'public',
      errors: [429],
      methods: { create: { summary: 'Mail a password reset link (answers alike whether the e-mail is known or not)' } }
    },
    'password-resets/confirm': {
      tag: 'password-resets',
      result: passwordResetConfirmationSchema,
      data: passwordResetConfirmationDataSchema,
      query: noQuerySchema,
      access: 'public',
      methods: { create: { summary: 'Set a new password with the token of the link' } }
    },
    'email-verifications': {
      result: emailVerificationSchema,
      data: emailVerificationDataSchema,
      query: noQuerySchema,
      roles: ['buyer', 'seller', 'admin'],
      errors: [429],
      methods: { create: { summary: 'Mail a verification link to one’s own e-mail' } }
    },
    'email-verifications/confirm': {
      tag: 'email-verifications',
      result: emailVerificationConfirmationSchema,
      data: emailVerificationConfirmationDataSchema,
      query: noQuerySchema,
      access: 'public',
      methods: { create: { summary: 'Verify the e-mail with the token of the link' } }
    }
  },
  routes: [
    ...kitRoutes('http://localhost:4031'),
    {
      path: JWKS_PATH,
      method: 'get',
      tag: 'authentication',
      summary: 'The public keys that verify access tokens (JWK Set, RFC 7517)',
      access: 'public',
      answers: {
        200: {
          description: 'The key set',
          schema: Type.Object({ keys: Type.Array(Type.Object({ kty: Type.String(), kid: Type.String() }, { additionalProperties: true })) })
        }
      }
    }
  ]
}
