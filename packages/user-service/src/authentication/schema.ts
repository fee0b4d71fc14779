import { getValidator, StringEnum, Type, type Static } from '@feathersjs/typebox'
import { dataValidator } from '@marketmesh/shared'

/**
 * What POST /authentication takes. Strings only: Feathers' strategies would put an object given as
 * `email` into the user query as it is, e.g. `{"$gt": ""}`, and log in whichever user it matches.
 */
export const authenticationDataSchema = Type.Object(
  {
    strategy: StringEnum(['local', 'refresh', 'jwt']),
    email: Type.Optional(Type.String({ minLength: 1, maxLength: 254 })),
    password: Type.Optional(Type.String({ minLength: 1, maxLength: 1_000 })),
    refreshToken: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
    accessToken: Type.Optional(Type.String({ minLength: 1, maxLength: 5_000 }))
  },
  {
    $id: 'AuthenticationData',
    additionalProperties: false,
    allOf: [
      { if: { properties: { strategy: { const: 'local' } } }, then: { required: ['email', 'password'] } },
      { if: { properties: { strategy: { const: 'refresh' } } }, then: { required: ['refreshToken'] } },
      { if: { properties: { strategy: { const: 'jwt' } } }, then: { required: ['accessToken'] } }
    ]
  }
)
export type AuthenticationData = Static<typeof authenticationDataSchema>
export const authenticationDataValidator = getValidator(authenticationDataSchema, dataValidator)
