import { Type, type Static } from '@feathersjs/typebox'
import { baseEnvironment, durationSetting, privateJwkSchema, serviceSettingsSchema } from '@marketmesh/shared'

export const settingsSchema = serviceSettingsSchema({
  /** The private key access tokens are signed with; the development key when not given. */
  signingKey: Type.Optional(privateJwkSchema),
  /** How long a refresh token may be used, e.g. `7d`; every use replaces it with a new one. */
  refreshTokenExpiresIn: durationSetting,
  /**
   * How long after a refresh token was used it still returns its successor instead of revoking the
   * session: two tabs refreshing at once, or a client retrying a refresh whose answer it lost. `0s`: never.
   */
  refreshTokenReuseGrace: durationSetting,
  /**
   * Failed logins tolerated within the window, then 429: per email from one client IP (low, so
   * guessing stops early), per email from all addresses (higher, so a stranger cannot lock the
   * owner out from elsewhere) and per client IP for any email.
   */
  loginRateLimit: Type.Object({
    window: durationSetting,
    maxFailuresPerEmailAndIp: Type.Integer({ minimum: 1 }),
    maxFailuresPerEmail: Type.Integer({ minimum: 1 }),
    maxFailuresPerIp: Type.Integer({ minimum: 1 })
  }),
  /** Registrations tolerated per client IP within the window (each costs a password hash), then 429. */
  registrationRateLimit: Type.Object({
    window: durationSetting,
    maxPerIp: Type.Integer({ minimum: 1 })
  }),
  /** Password reset links: how long one works, and how many may be asked for per email and per client IP within the window (then 429). */
  passwordReset: Type.Object({
    tokenLifetime: durationSetting,
    window: durationSetting,
    maxPerEmail: Type.Integer({ minimum: 1 }),
    maxPerIp: Type.Integer({ minimum: 1 })
  }),
  /** Email verification links: how long one works, and how many more a user may ask for within the window (then 429). */
  emailVerification: Type.Object({
    tokenLifetime: durationSetting,
    window: durationSetting,
    maxPerUser: Type.Integer({ minimum: 1 })
  })
})

export const environment: typeof baseEnvironment = {
  ...baseEnvironment,
  JWT_PRIVATE_KEY: 'signingKey',
  REFRESH_TOKEN_EXPIRES_IN: 'refreshTokenExpiresIn',
  REFRESH_TOKEN_REUSE_GRACE: 'refreshTokenReuseGrace',
  LOGIN_RATE_LIMIT_WINDOW: 'loginRateLimit.window',
  LOGIN_RATE_LIMIT_PER_EMAIL_AND_IP: 'loginRateLimit.maxFailuresPerEmailAndIp',
  LOGIN_RATE_LIMIT_PER_EMAIL: 'loginRateLimit.maxFailuresPerEmail',
  LOGIN_RATE_LIMIT_PER_IP: 'loginRateLimit.maxFailuresPerIp',
  REGISTRATION_RATE_LIMIT_WINDOW: 'registrationRateLimit.window',
  REGISTRATION_RATE_LIMIT_PER_IP: 'registrationRateLimit.maxPerIp',
  PASSWORD_RESET_TOKEN_LIFETIME: 'passwordReset.tokenLifetime',
  PASSWORD_RESET_RATE_LIMIT_WINDOW: 'passwordReset.window',
  PASSWORD_RESET_RATE_LIMIT_PER_EMAIL: 'passwordReset.maxPerEmail',
  PASSWORD_RESET_RATE_LIMIT_PER_IP: 'passwordReset.maxPerIp',
  EMAIL_VERIFICATION_TOKEN_LIFETIME: 'emailVerification.tokenLifetime',
  EMAIL_VERIFICATION_RATE_LIMIT_WINDOW: 'emailVerification.window',
  EMAIL_VERIFICATION_RATE_LIMIT_PER_USER: 'emailVerification.maxPerUser'
}

// The app's settings are what its schema says: `app.get('mail')` is typed from it, declared nowhere else.
declare module '@marketmesh/shared' {
  interface ServiceConfiguration extends Static<typeof settingsSchema> {}
}
