import { getValidator, StringEnum, Type, type Static } from '@feathersjs/typebox'
import { dataValidator, MultiLineText, queryValidator } from '@marketmesh/shared'
import { webhookDeliveryStatuses } from '../../webhooks/deliveries'
import { webhookEndpointStatuses } from '../../webhooks/endpoints'

const Url = Type.String({ minLength: 1, maxLength: 2048 })
// At most every type of the families once, with room for exact types beside their patterns.
const Events = Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { minItems: 1, maxItems: 50 })
const Description = MultiLineText({ maxLength: 500 })

export const webhookEndpointDataSchema = Type.Object(
  { url: Url, events: Events, description: Type.Optional(Description) },
  { $id: 'WebhookEndpointData', additionalProperties: false }
)
export type WebhookEndpointData = Static<typeof webhookEndpointDataSchema>
export const webhookEndpointDataValidator = getValidator(webhookEndpointDataSchema, dataValidator)

export const webhookEndpointPatchSchema = Type.Object(
  {
    url: Type.Optional(Url),
    events: Type.Optional(Events),
    description: Type.Optional(Type.Union([Description, Type.Null()])),
    status: Type.Optional(StringEnum([...webhookEndpointStatuses]))
  },
  { $id: 'WebhookEndpointPatch', additionalProperties: false, minProperties: 1 }
)
export type WebhookEndpointPatch = Static<typeof webhookEndpointPatchSchema>
export const webhookEndpointPatchValidator = getValidator(webhookEndpointPatchSchema, dataValidator)

/** The endpoints take no query: an owner has at most a handful. */
export const webhookEndpointQuerySchema = Type.Object({}, { additionalProperties: false })
export const webhookEndpointQueryValidator = getValidator(webhookEndpointQuerySchema, queryValidator)

export const webhookDeliveryQuerySchema = Type.Object(
  {
    status: Type.Optional(StringEnum([...webhookDeliveryStatuses])),
    $limit: Type.Optional(Type.Integer({ minimum: 0 })),
    $skip: Type.Optional(Type.Integer({ minimum: 0 }))
  },
  { additionalProperties: false }
)
export type WebhookDeliveryQuery = Static<typeof webhookDeliveryQuerySchema>
export const webhookDeliveryQueryValidator = getValidator(webhookDeliveryQuerySchema, queryValidator)

/** The actions (rotate, test, retry) take an empty body. */
export const webhookActionDataSchema = Type.Object({}, { additionalProperties: false })
export const webhookActionDataValidator = getValidator(webhookActionDataSchema, dataValidator)
