import type { OrderPaid } from './order-paid.js';

/** A complete event reaching every channel; routes are dry-rendered against it at start-up. */
export const SAMPLE_ORDER_PAID: OrderPaid = {
  event: 'order.paid',
  orderId: 'SAMPLE-1001',
  paidAt: '2026-11-21T10:15:00+07:00',
  currency: 'THB',
  total: 1290,
  items: [
    { name: 'Jasmine rice 5 kg', quantity: 2, unitPrice: 420, sku: 'RICE-5' },
    { name: 'Fish sauce', quantity: 3, unitPrice: 150 },
  ],
  customer: {
    name: 'Somchai Jaidee',
    locale: 'th-TH',
    channels: {
      lineUserId: 'U4af4980629',
      facebookUserId: '6143254789012345',
      messenger: { psid: '2468013579' },
      metabotLeadId: 18273,
      whatsappPhone: '+66 81 234 5678',
    },
  },
  orderUrl: 'https://shop.example.com/orders/SAMPLE-1001',
  paymentMethod: 'Visa 4242',
  shippingAddress: { street1: '99 Sukhumvit Rd', city: 'Bangkok', postalCode: '10110', state: 'Bangkok', country: 'TH' },
};
