export * from './order-paid.js';
