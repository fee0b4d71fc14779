export * from './limit-to-audience'
