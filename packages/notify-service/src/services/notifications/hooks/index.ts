export * from './limit-to-audience'
export * from './newest-first'
