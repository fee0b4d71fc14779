// The consumer of bench/events (bench/events-consumer.mjs) and the one consumer table both sides of
// that bench declare: its queue alone. With the services' table (EVENT_CONSUMERS) the publisher would
// also declare catalog-service's and notify-service's queues, and each order.created would go to
// three queues, two of them consumed by no one there, where the broker baseline goes to one.
export const BENCH_CONSUMER = 'bench-consumer'
export const BENCH_CONSUMERS = { [BENCH_CONSUMER]: ['order.created'] }
