import { passwordHash } from '@feathersjs/authentication-local'
import { resolve } from '@feathersjs/schema'
import { getValidator, Type, type Static } from '@feathersjs/typebox'
import { dataValidator, MultiLineText, publicQuerySyntax, queryValidator, SingleLineText } from '@marketmesh/shared'
import { isoTimestamp } from '../../resolvers'
import type { UserHookContext } from './users.class'

const Role = Type.Union([Type.Literal('buyer'), Type.Literal('seller'), Type.Literal('admin')])
const Status = Type.Union([Type.Literal('active'), Type.Literal('disabled')])
const Timestamp = Type.String({ format: 'date-time' })
const email = Type.String({ format: 'email', maxLength: 254 })
// argon2id reads all of it, unlike bcrypt's first 72 bytes; the maximum only bounds the request.
export const password = Type.String({ minLength: 8, maxLength: 128 })
const name = SingleLineText({ minLength: 1, maxLength: 200 })
const shopName = SingleLineText({ minLength: 1, maxLength: 120 })
const shopDescription = MultiLineText({ maxLength: 2000 })

/** A user as stored; `password` is the hash and never leaves the service (see the external resolver). */
export const userSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    email,
    password: Type.Optional(Type.String()),
    name,
    role: Role,
    status: Status,
    shopName: Type.Union([shopName, Type.Null()]),
    shopSlug: Type.Union([Type.String(), Type.Null()]),
    shopDescription: Type.Union([shopDescription, Type.Null()]),
    lastLoginAt: Type.Union([Timestamp, Type.Null()]),
    // Read-only: set by the token of a mailed link, reset by a change of email.
    emailVerifiedAt: Type.Union([Timestamp, Type.Null()]),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    // Read-only: 1 at registration, one more with every patch (see `bumpVersion`).
    version: Type.Integer({ minimum: 1 })
  },
  { $id: 'User', additionalProperties: false }
)
export type User = Static<typeof userSchema>

export const userResolver = resolve<User, UserHookContext>({
  lastLoginAt: isoTimestamp,
  emailVerifiedAt: isoTimestamp,
  createdAt: isoTimestamp,
  updatedAt: isoTimestamp
})

export const userExternalResolver = resolve<User, UserHookContext>({
  password: async () => undefined
})

/** Registration: a seller names a shop. Whether the caller may create an admin is the hooks' call. */
export const userDataSchema = Type.Object(
  {
    email,
    password,
    name,
    role: Role,
    shopName: Type.Optional(shopName),
    shopDescription: Type.Optional(shopDescription)
  },
  {
    $id: 'UserData',
    additionalProperties: false,
    if: { properties: { role: { const: 'seller' } } },
    then: { required: ['shopName'] }
  }
)
export type UserData = Static<typeof userDataSchema> & Partial<Pick<User, 'shopSlug' | 'status'>>
export const userDataValidator = getValidator(userDataSchema, dataValidator)

const onlyForSellers = async <V>(value: V | undefined, user: { role?: User['role'] }) => (user.role === 'seller' ? value : undefined)

export const userDataResolver = resolve<UserData, UserHookContext>({
  password: passwordHash({ strategy: 'local' }),
  status: async () => 'active' as const,
  shopName: onlyForSellers,
  shopDescription: onlyForSellers
})

/**
 * Self-service changes; `role` and `status` only an admin may send, and a change of one's own email or
 * password needs `currentPassword` (see the hooks), which is checked and never stored.
 */
export const userPatchSchema = Type.Object(
  {
    email: Type.Optional(email),
    password: Type.Optional(password),
    currentPassword: Type.Optional(Type.String({ maxLength: 128 })),
    name: Type.Optional(name),
    shopName: Type.Optional(shopName),
    shopDescription: Type.Optional(shopDescription),
    role: Type.Optional(Role),
    status: Type.Optional(Status)
  },
  { $id: 'UserPatch', additionalProperties: false }
)
export type UserPatch = Static<typeof userPatchSchema> & Partial<Pick<User, 'shopSlug' | 'updatedAt' | 'lastLoginAt' | 'emailVerifiedAt'>>
export const userPatchValidator = getValidator(userPatchSchema, dataValidator)

export const userPatchResolver = resolve<UserPatch, UserHookContext>({
  password: passwordHash({ strategy: 'local' }),
  currentPassword: async () => undefined,
  updatedAt: async () => new Date().toISOString()
})

export const userQueryProperties = Type.Pick(userSchema, ['id', 'email', 'role', 'status', 'shopSlug', 'createdAt'])
// Every field but the password hash.
const userSelectable = [
  'id',
  'email',
  'name',
  'role',
  'status',
  'shopName',
  'shopSlug',
  'shopDescription',
  'lastLoginAt',
  'emailVerifiedAt',
  'createdAt',
  'updatedAt',
  'version'
] as const
export const userQuerySchema = publicQuerySyntax(userQueryProperties, userSelectable)
export type UserQuery = Static<typeof userQuerySchema>
export const userQueryValidator = getValidator(userQuerySchema, queryValidator)
