export * from './shop'
