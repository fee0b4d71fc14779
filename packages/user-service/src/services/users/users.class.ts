import type { Params } from '@feathersjs/feathers'
import { KnexService, type KnexAdapterOptions, type KnexAdapterParams } from '@feathersjs/knex'
import type { ServiceApplication, ServiceHookContext } from '@marketmesh/shared'
import type { User, UserData, UserPatch, UserQuery } from './users.schema'

export type { User, UserData, UserPatch, UserQuery }

export interface UserParams extends KnexAdapterParams<UserQuery> {}

export class UserService<ServiceParams extends Params = UserParams> extends KnexService<User, UserData, ServiceParams, UserPatch> {}

export type UserHookContext = ServiceHookContext<UserService>

export const getOptions = (app: ServiceApplication): KnexAdapterOptions => ({
  paginate: { default: 20, max: 100 },
  Model: app.get('postgresqlClient'),
  name: 'users'
})
