export * from './limit-to-own-orders'
