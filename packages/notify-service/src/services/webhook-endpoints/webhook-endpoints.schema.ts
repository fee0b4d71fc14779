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

const DateTime = Type.String({ format: 'date-time' })

/** An endpoint as its owner sees it (webhooks/endpoints.ts `endpointView`): never its secret, but once. */
export const webhookEndpointSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    url: Type.String(),
    events: Type.Array(Type.String()),
    description: Type.Union([Type.String(), Type.Null()]),
    status: StringEnum([...webhookEndpointStatuses]),
    disabledReason: Type.Union([Type.String(), Type.Null()]),
    createdAt: DateTime,
    updatedAt: DateTime
  },
  { $id: 'WebhookEndpoint', additionalProperties: false }
)

/** What creating an endpoint and rotating its secret answer: the endpoint and its `whsec_` secret, shown this once. */
export const webhookEndpointWithSecretSchema = Type.Object(
  { ...webhookEndpointSchema.properties, secret: Type.String({ pattern: '^whsec_' }) },
  { $id: 'WebhookEndpointWithSecret', additionalProperties: false }
)

/** A delivery in the log (webhooks/deliveries.ts `deliveryView`), its attempts oldest first. */
export const webhookDeliverySchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    eventType: Type.String(),
    status: StringEnum([...webhookDeliveryStatuses]),
    createdAt: DateTime,
    attempts: Type.Array(
      Type.Object(
        {
          at: DateTime,
          statusCode: Type.Union([Type.Integer(), Type.Null()]),
          durationMs: Type.Integer({ minimum: 0 }),
          responseSnippet: Type.Union([Type.String(), Type.Null()]),
          error: Type.Union([Type.String(), Type.Null()])
        },
        { additionalProperties: false }
      )
    )
  },
  { $id: 'WebhookDelivery', additionalProperties: false }
)

/** What `test` and `retry` answer: the delivery scheduled. */
export const webhookDeliveryScheduledSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    status: Type.Literal('pending'),
    eventType: Type.Optional(Type.String()),
    attempts: Type.Optional(Type.Array(Type.Unknown(), { maxItems: 0 }))
  },
  { $id: 'WebhookDeliveryScheduled', additionalProperties: false }
)
