/** The package's public API for a Node monolith: the producer and the event contract. */
export { createProducer, OrderNotifyProducer, RedisUnavailableError } from './producer/producer.js';
export type { ProducerOptions, EnqueueResult } from './producer/producer.js';
export { orderPaidSchema, parseOrderPaid, InvalidEventError } from './events/order-paid.js';
export type { OrderPaid, FieldError } from './events/order-paid.js';
export type { OrderRecord, DeliveryRecord, DeliveryStatus } from './orders/record.js';
