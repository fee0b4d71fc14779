import { resolve } from '@feathersjs/schema'
import { getValidator, Type, type Static } from '@feathersjs/typebox'
import { dataValidator, MultiLineText, publicQuerySyntax, queryValidator, transactionOf, type ServiceHookContext } from '@marketmesh/shared'
import type { ReviewService } from './reviews.class'

type ReviewHookContext = ServiceHookContext<ReviewService>

const Rating = Type.Integer({ minimum: 1, maximum: 5 })

/** How a review is signed while the catalog has not learnt its buyer's name (their user.registered had not arrived). */
export const UNKNOWN_REVIEWER = 'A verified buyer'

export const reviewSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    productId: Type.String({ format: 'uuid' }),
    /** The delivered order the product came with: what makes the review verified. Shown to its author and admins only. */
    orderId: Type.String({ format: 'uuid' }),
    /** Shown to its author and admins only: who bought what is private. */
    buyerId: Type.String({ format: 'uuid' }),
    /** What the review is signed with: the buyer's first name and initial when it was written ("Ada L."). */
    displayName: Type.String(),
    ratings: Type.Object({ quality: Rating, value: Rating, delivery: Rating }, { additionalProperties: false }),
    comment: MultiLineText({ maxLength: 5_000 }),
    createdAt: Type.String({ format: 'date-time' })
  },
  { $id: 'Review', additionalProperties: false }
)
export type Review = Static<typeof reviewSchema>

/** The buyer and the order of a review, for its author and admins; undefined (left out) for anyone else. */
const onlyForAuthorAndAdmins = async (value: string | undefined, review: Review, context: ReviewHookContext) => {
  const { principal } = context.params
  return principal?.role === 'admin' || (principal !== undefined && principal.id === review.buyerId) ? value : undefined
}

export const reviewExternalResolver = resolve<Review, ReviewHookContext>({
  buyerId: onlyForAuthorAndAdmins,
  orderId: onlyForAuthorAndAdmins
})

export const reviewDataSchema = Type.Intersect(
  [Type.Pick(reviewSchema, ['productId', 'orderId', 'ratings']), Type.Partial(Type.Pick(reviewSchema, ['comment']))],
  { $id: 'ReviewData', additionalProperties: false }
)
export type ReviewData = Static<typeof reviewDataSchema> & Partial<Pick<Review, 'buyerId' | 'displayName'>>
export const reviewDataValidator = getValidator(reviewDataSchema, dataValidator)
export const reviewDataResolver = resolve<ReviewData, ReviewHookContext>({
  buyerId: async (_value, _data, context) => context.params.principal?.id,
  displayName: async (_value, _data, context) => {
    const buyer = await transactionOf(context)('buyers').where({ id: context.params.principal?.id }).first('displayName')
    return buyer?.displayName || UNKNOWN_REVIEWER
  }
})

export const reviewQueryProperties = Type.Pick(reviewSchema, ['id', 'productId', 'orderId', 'buyerId', 'createdAt'])
export const reviewQuerySchema = publicQuerySyntax(reviewQueryProperties, [
  'id',
  'productId',
  'orderId',
  'buyerId',
  'displayName',
  'ratings',
  'comment',
  'createdAt'
])
export type ReviewQuery = Static<typeof reviewQuerySchema>
export const reviewQueryValidator = getValidator(reviewQuerySchema, queryValidator)
