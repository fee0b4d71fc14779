export * from './limit-to-own-shop'
