export * from './require-delivered-purchase'
export * from './update-product-rating'
