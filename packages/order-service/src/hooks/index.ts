export * from './idempotent'
export * from './limit-to-own-shop'
