export * from './authenticate-if-token'
export * from './shop'
