export * from './idempotent'
