export * from './purchase-filters-only-for-their-buyer'
export * from './require-delivered-purchase'
export * from './update-product-rating'
