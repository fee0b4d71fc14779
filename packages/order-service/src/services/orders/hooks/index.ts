export * from './attach-order-details'
export * from './limit-to-own-orders'
