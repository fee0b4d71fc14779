import { hooks as schemaHooks } from '@feathersjs/schema'
import { type EventData } from '@marketmesh/events'
import {
  authenticated,
  emitEvent,
  inTransaction,
  optionallyAuthenticated,
  rateLimitedHttp,
  stableOrder,
  uuidIds,
  type ServiceApplication
} from '@marketmesh/shared'
import {
  assignShopSlug,
  bumpVersion,
  conflictOnDuplicate,
  limitRegistrations,
  listOnlySelfUnlessAdmin,
  normaliseEmail,
  onlySelfOrAdmin,
  refuseAdminRegistration,
  requestVerificationOfEmail,
  requireCurrentPassword,
  revokeSessionsOnCredentialChange,
  roleAndStatusOnlyByAdmin,
  unverifyChangedEmail
} from './hooks'
import { getOptions, UserService, type User } from './users.class'
import {
  userDataResolver,
  userDataValidator,
  userExternalResolver,
  userPatchResolver,
  userPatchValidator,
  userQueryValidator,
  userResolver
} from './users.schema'
import { userMethods, userPath } from './users.shared'

export * from './users.class'
export * from './users.schema'

/** What other services learn of a user: never the password hash. */
const userEventData = (user: User): EventData<'user.registered'> => ({
  userId: user.id,
  version: user.version,
  email: user.email,
  name: user.name,
  role: user.role,
  status: user.status,
  ...(user.shopName ? { shopName: user.shopName } : {}),
  ...(user.shopSlug ? { shopSlug: user.shopSlug } : {})
})

const duplicates = conflictOnDuplicate({
  users_email_unique: 'A user with this email already exists',
  users_shopslug_unique: 'A shop with this name already exists'
})

export const users = (app: ServiceApplication) => {
  app.use(userPath, new UserService(getOptions(app)), { methods: [...userMethods], events: [], koa: { before: [rateLimitedHttp()] } })
  app.service(userPath).hooks({
    around: {
      all: [schemaHooks.resolveExternal(userExternalResolver), schemaHooks.resolveResult(userResolver)],
      find: [authenticated()],
      get: [authenticated()],
      create: [optionallyAuthenticated(), limitRegistrations, inTransaction()],
      patch: [authenticated(), requireCurrentPassword, inTransaction()]
    },
    before: {
      all: [schemaHooks.validateQuery(userQueryValidator), uuidIds()],
      find: [listOnlySelfUnlessAdmin, stableOrder()],
      get: [onlySelfOrAdmin],
      create: [
        refuseAdminRegistration,
        normaliseEmail,
        schemaHooks.validateData(userDataValidator),
        schemaHooks.resolveData(userDataResolver),
        assignShopSlug
      ],
      patch: [
        onlySelfOrAdmin,
        roleAndStatusOnlyByAdmin,
        normaliseEmail,
        schemaHooks.validateData(userPatchValidator),
        schemaHooks.resolveData(userPatchResolver),
        assignShopSlug,
        unverifyChangedEmail
      ]
    },
    after: {
      create: [emitEvent('user.registered', userEventData), requestVerificationOfEmail],
      patch: [bumpVersion, emitEvent('user.updated', userEventData), revokeSessionsOnCredentialChange, requestVerificationOfEmail]
    },
    error: {
      create: [duplicates],
      patch: [duplicates]
    }
  })
}

declare module '@marketmesh/shared' {
  interface ServiceTypes {
    [userPath]: UserService
  }
}

declare module '@feathersjs/feathers' {
  interface Params {
    /** The user being authenticated, which Feathers' strategies load through this service. */
    user?: User
  }
}
