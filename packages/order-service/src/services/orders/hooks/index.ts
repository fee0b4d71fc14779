export * from './attach-lines-and-timeline'
export * from './limit-to-own-orders'
