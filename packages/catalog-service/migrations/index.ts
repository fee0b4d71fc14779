import type { MigrationList } from '@marketmesh/shared'
import * as sellers from './0001_sellers'
import * as categories from './0002_categories'
import * as products from './0003_products'
import * as reservations from './0004_reservations'
import * as reviews from './0005_reviews'
import * as sellerLock from './0006_seller_lock'
import * as sellerVersion from './0007_seller_version'
import * as productVersion from './0008_product_version'
import * as reviewDisplayNames from './0009_review_display_names'
import * as productImages from './0010_product_images'
import * as imageCleanup from './0011_image_cleanup'
import * as hotReservations from './0012_hot_reservations'

/** This service's migrations, run in name order after the event backbone's. */
export const migrations: MigrationList = {
  '0001_sellers': sellers,
  '0002_categories': categories,
  '0003_products': products,
  '0004_reservations': reservations,
  '0005_reviews': reviews,
  '0006_seller_lock': sellerLock,
  '0007_seller_version': sellerVersion,
  '0008_product_version': productVersion,
  '0009_review_display_names': reviewDisplayNames,
  '0010_product_images': productImages,
  '0011_image_cleanup': imageCleanup,
  '0012_hot_reservations': hotReservations
}
