export * from './only-current'
