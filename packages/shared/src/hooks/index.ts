export * from './authorization'
export * from './emit-event'
export * from './transaction'
