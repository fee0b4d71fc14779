import { resolve } from '@feathersjs/schema'
import { getValidator, querySyntax, Type, type Static } from '@feathersjs/typebox'
import { dataValidator, queryValidator, type ServiceHookContext } from '@marketmesh/shared'
import type { ReviewService } from './reviews.class'

const Rating = Type.Integer({ minimum: 1, maximum: 5 })

export const reviewSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    productId: Type.String({ format: 'uuid' }),
    /** The delivered order the product came with: what makes the review verified. */
    orderId: Type.String({ format: 'uuid' }),
    buyerId: Type.String({ format: 'uuid' }),
    ratings: Type.Object({ quality: Rating, value: Rating, delivery: Rating }, { additionalProperties: false }),
    comment: Type.String({ maxLength: 5_000 }),
    createdAt: Type.String({ format: 'date-time' })
  },
  { $id: 'Review', additionalProperties: false }
)
export type Review = Static<typeof reviewSchema>

export const reviewDataSchema = Type.Intersect(
  [Type.Pick(reviewSchema, ['productId', 'orderId', 'ratings']), Type.Partial(Type.Pick(reviewSchema, ['comment']))],
  { $id: 'ReviewData', additionalProperties: false }
)
export type ReviewData = Static<typeof reviewDataSchema> & { buyerId?: string }
export const reviewDataValidator = getValidator(reviewDataSchema, dataValidator)
export const reviewDataResolver = resolve<ReviewData, ServiceHookContext<ReviewService>>({
  buyerId: async (_value, _data, context) => context.params.principal?.id
})

export const reviewQueryProperties = Type.Pick(reviewSchema, ['id', 'productId', 'orderId', 'buyerId', 'createdAt'])
export const reviewQuerySchema = Type.Intersect([querySyntax(reviewQueryProperties)], { additionalProperties: false })
export type ReviewQuery = Static<typeof reviewQuerySchema>
export const reviewQueryValidator = getValidator(reviewQuerySchema, queryValidator)
