export { EventConsumer, type EventConsumerOptions } from './event-consumer'
export type { EventHandler, HandlerContext, HandlerOptions } from './deliveries'
