// The kit's names, module by module (named, so a reader sees where each comes from). The event
// backbone is @marketmesh/events; the receipts are @marketmesh/receipts.
export { createServiceApp, prepareDatabase, rawBodyOf, type ServiceAppOptions, serviceMigrations } from './app'
export { authenticationSettings, principalFromPayload, PrincipalJWTStrategy, statelessAuthentication } from './authentication'
export {
  createKnex,
  dropDatabase,
  ensureDatabase,
  type Knex,
  migrateLatest,
  type Migration,
  type MigrationList,
  migrationStatus,
  rollbackLatest
} from './database'
export { type DatabaseError, databaseErrorOf, fromDatabaseError } from './database-errors'
export { type Principal, type ServiceApplication, type ServiceConfiguration, type ServiceHookContext, type ServiceTypes } from './declarations'
export {
  authenticatedOrDevice,
  createDeviceToken,
  DEVICE_STRATEGY,
  DEVICE_TOKEN_PREFIX,
  deviceAwareAuthentication,
  deviceCredentialHandlers,
  deviceCredentialMigrations,
  type DeviceSellers,
  DeviceStrategy,
  hashDeviceToken,
  isDeviceToken
} from './devices'
export { MultiLineText, printableLine, SingleLineText, TEXT_KINDS, type TextKind, textProblem } from './free-text'
export { inputGuards } from './guards'
export { HEALTH_PATHS, healthRoutes, readiness } from './health'
export {
  authenticated,
  emitEvent,
  inTransaction,
  isUuid,
  MAX_INPUT_DEPTH,
  oneRecordAtATime,
  optionallyAuthenticated,
  principalOf,
  refuseUnsafeInput,
  requireRole,
  selectOnlyOnReads,
  stableOrder,
  transactionOf,
  uuidIds
} from './hooks'
export { answerUnparsableRequests, errorHandler, requestId } from './http'
export { answersPath } from './http-paths'
export { keepsResponsesOpen } from './open-responses'
export {
  type Access,
  type ApiDescription,
  mergeOpenApiDocuments,
  OPENAPI_PATH,
  type OpenApiDocument,
  openApiDocument,
  type OperationDoc,
  type RouteAnswer,
  type RouteDoc,
  type ServiceDoc
} from './openapi'
export { authenticationResultSchema, kitRoutes, tokenCheckDoc } from './openapi-routes'
export { createLogger, type Logger } from './logger'
export {
  answerOf,
  type CacheEntryOptions,
  type CachedAnswer,
  type HttpCachePolicy,
  httpCaching,
  ReadCache,
  readCache,
  readCacheEnvironment,
  type ReadCacheOptions,
  readCacheSettingsProperties,
  sendAnswer
} from './cache'
export { createMetricsRegistry, httpMetrics, statusCountGauge } from './metrics'
export { formatMoney } from './money'
export { createOpsServer, METRICS_PATH, opsPortOf } from './ops-server'
export { runPeriodically } from './periodic'
export { noQuerySchema, noQueryValidator, publicQuerySyntax } from './query'
export { type Hit, type Limit, RateLimits, rateLimitedHttp, rateLimits, rateLimitsTable, refuseTooMany, type Taken } from './rate-limits'
export { prototypeFreeRoutes } from './routing'
export {
  baseDefaults,
  baseEnvironment,
  type BaseSettings,
  baseSettingsProperties,
  baseSettingsSchema,
  deepMerge,
  durationMs,
  durationSetting,
  loadSettings,
  type LoadSettingsOptions,
  packageRoot,
  serviceSettingsSchema,
  type SettingsEnvironment,
  SettingsError,
  settingsFromEnvironment,
  validateSettings
} from './settings'
export {
  ACCESS_TOKEN_ALGORITHM,
  ACCESS_TOKEN_TYPE,
  AccessTokenAuthenticationService,
  type AccessTokenClaims,
  accessTokenLifetimeSeconds,
  DEVELOPMENT_PUBLIC_KEY,
  DEVELOPMENT_SIGNING_KEY,
  distinctPublicKeys,
  generateSigningKey,
  importSigningKey,
  jwksSchema,
  type PrivateJwk,
  privateJwkSchema,
  PUBLIC_KEYS_SETTING,
  type PublicJwk,
  publicJwkSchema,
  publicPartOf,
  refuseDevelopmentKeyInProduction,
  signAccessToken,
  type SigningKey,
  type VerificationKeys,
  verificationKeysFrom,
  verifyAccessToken
} from './tokens'
export { closeServer, describeStartupError, listen, runMigrations, runService } from './start'
export { dataValidator, fieldName, invalidField, queryValidator } from './validators'
