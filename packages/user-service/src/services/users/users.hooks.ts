import { Forbidden } from '@feathersjs/errors'
import { invalidField, principalOf, transactionOf, type Principal, type ServiceHookContext } from '@marketmesh/shared'
import { revokeUserSessions } from '../../authentication/sessions'
import type { User, UserService } from './users.class'

type UserHookContext = ServiceHookContext<UserService>

// A list of users to create is refused by the service (no multi); the hooks look at single records only.
const dataOf = (context: UserHookContext) => (Array.isArray(context.data) ? undefined : context.data)

export const normalisedEmail = (email: string) => email.trim().toLowerCase()

/** Emails compare case-insensitively: they are stored, looked up and rate-limited in one form. */
export const normaliseEmail = (context: UserHookContext) => {
  const data = dataOf(context)
  if (typeof data?.email === 'string') context.data = { ...data, email: normalisedEmail(data.email) }
}

/**
 * The caller: the verified principal or, while a login loads its user through this service
 * (Feathers passes it as `params.user` of an already authenticated call), that user.
 */
const callerOf = (context: UserHookContext): Principal | undefined => {
  const { principal, authenticated, user } = context.params
  return principal ?? (authenticated && user ? { id: user.id, role: user.role } : undefined)
}

/** Registration is for buyers and sellers; an admin comes from an admin or from the CLI (an internal call). */
export const refuseAdminRegistration = (context: UserHookContext) => {
  if (context.params.provider && dataOf(context)?.role === 'admin' && context.params.principal?.role !== 'admin') {
    throw new Forbidden('An admin account can only be created by an admin')
  }
}

/** A buyer or seller listing users gets only themselves. */
export const listOnlySelfUnlessAdmin = (context: UserHookContext) => {
  if (!context.params.provider) return
  const caller = principalOf(context)
  if (caller.role !== 'admin') context.params.query = { ...context.params.query, id: caller.id }
}

export const onlySelfOrAdmin = (context: UserHookContext) => {
  if (!context.params.provider) return
  const caller = callerOf(context)
  if (caller?.role !== 'admin' && caller?.id !== context.id) throw new Forbidden('Only the user or an admin may do this')
}

export const roleAndStatusOnlyByAdmin = (context: UserHookContext) => {
  const data = dataOf(context)
  if (!context.params.provider || (data?.role === undefined && data?.status === undefined)) return
  if (principalOf(context).role !== 'admin') throw new Forbidden('Only an admin may change a role or status')
}

const slugify = (text: string) =>
  text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60) || 'shop'

/**
 * A seller's shop gets a URL slug from its name once: renaming the shop later keeps its links.
 * A slug already taken gets a random suffix; a race between two is caught by the unique index (409).
 */
export const assignShopSlug = async (context: UserHookContext) => {
  const { service, params } = context
  const data = dataOf(context)
  if (!data || (data.role === undefined && data.shopName === undefined)) return
  const current: User | undefined = context.method === 'patch' ? await service._get(context.id!, { transaction: params.transaction }) : undefined
  const role = data.role ?? current?.role
  const shopName = data.shopName ?? current?.shopName
  if (role !== 'seller' || current?.shopSlug) return
  if (!shopName) throw invalidField('shopName', 'is required for a seller')
  const base = slugify(shopName)
  const taken = await service.db(params).first('id').where({ shopSlug: base })
  context.data = { ...data, shopSlug: taken ? `${base}-${Math.random().toString(36).slice(2, 8)}` : base }
}

/**
 * After a patch, before its user.updated: the next version, incremented in SQL within the patch's
 * transaction. The row stays locked until commit, so concurrent patches get distinct versions.
 */
export const bumpVersion = async (context: UserHookContext) => {
  const user = context.result as User
  const [{ version }] = await transactionOf(context)('users').where({ id: context.id }).increment('version', 1).returning('version')
  user.version = version
}

/** A new password or a disabled account ends every session: refresh tokens stop working. */
export const revokeSessionsOnCredentialChange = async (context: UserHookContext) => {
  const data = dataOf(context)
  if (data?.password === undefined && data?.status !== 'disabled') return
  await revokeUserSessions(transactionOf(context), (context.result as User).id)
}
