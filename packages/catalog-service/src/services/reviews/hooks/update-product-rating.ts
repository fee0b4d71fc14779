import { transactionOf, type ServiceHookContext } from '@marketmesh/shared'
import type { Review, ReviewService } from '../reviews.class'

/** The product's count and sums per criterion change with the review; its averages are derived from them. */
export const updateProductRating = () => async (context: ServiceHookContext<ReviewService>) => {
  const { productId, ratings } = context.result as Review
  await transactionOf(context)('products').where('id', productId).increment({
    ratingCount: 1,
    ratingQualitySum: ratings.quality,
    ratingValueSum: ratings.value,
    ratingDeliverySum: ratings.delivery
  })
}
