import { signJoinchatBody } from '../../src/vendors/joinchat/sign.js';
import type { OrderPaid } from '../../src/events/order-paid.js';

/**
 * The vendor request a hand-written worker would make for one order.paid event: the same endpoint, auth and body
 * shape as the example rule, built with plain code (no routes, templates, validation, ledger or records).
 */
export interface BareTarget {
  url: string;
  headers: Record<string, string>;
  body(event: OrderPaid): unknown;
  /** Headers that depend on the exact body (JoinChat's signature); the body is then sent as this very string. */
  signed?(event: OrderPaid): { raw: string; headers: Record<string, string> };
}

/** The targets the 4-rules-per-order baseline sends to: one message each, like the example rules. */
export const MIXED_TARGETS = ['mantago-line', 'mantago-facebook', 'joinchat', 'twin24'] as const;
export type MixedTarget = (typeof MIXED_TARGETS)[number];

export function bareTarget(vendor: string, env: NodeJS.ProcessEnv): BareTarget {
  const need = (name: string) => {
    const v = env[name];
    if (!v) throw new Error(`${name} is required for the ${vendor} baseline`);
    return v;
  };
  if (vendor === 'metabot') {
    return {
      url: `${need('METABOT_BASE_URL')}/bots/${need('METABOT_BOT_ID')}/jobs/schedule`,
      headers: { authorization: `Bearer ${need('METABOT_TOKEN')}` },
      body: (e) => ({
        script_code: 'order_paid_followup',
        run_after_sec: 3600,
        add_tags: `paid,${e.currency}`,
        lead_id: e.customer.channels.metabotLeadId,
        script_request_params: { order_id: e.orderId, total: String(e.total), currency: e.currency, items: e.items },
      }),
    };
  }
  if (vendor === 'twin24') {
    const chat = {
      chatId: need('TWIN24_CHAT_ID'), botId: need('TWIN24_BOT_ID'), messengerType: 'WHATSAPP', chatSessionName: 'order-paid',
      text: 'Hello {{name}}! Your order {{order}} for {{total}} is paid. Reply 1 to confirm delivery.', provider: 'TWIN',
    };
    return {
      url: `${need('TWIN24_NOTIFY_URL')}/messages`,
      headers: { authorization: `Bearer ${need('TWIN24_TOKEN')}` },
      body: (e) => ({
        messages: [{
          channels: { chat },
          destinations: [{
            phone: (e.customer.channels.whatsappPhone ?? '').replace(/\D/g, ''),
            variables: { name: e.customer.name, order: e.orderId, total: `${e.total.toFixed(2)} ${e.currency}` },
          }],
        }],
      }),
    };
  }
  if (vendor === 'mantago-line' || vendor === 'mantago-facebook') {
    const line = vendor === 'mantago-line';
    return {
      url: `${need('MANTAGO_BASE_URL')}/openapi/broadcast?botId=${encodeURIComponent(need('MANTAGO_BOT_ID'))}`,
      headers: { authorization: `Bearer ${need('MANTAGO_TOKEN')}` },
      body: (e) => ({
        botId: need('MANTAGO_BOT_ID'),
        clientIds: [line ? e.customer.channels.lineUserId : e.customer.channels.facebookUserId],
        platform: line ? 'line' : 'facebook',
        secret: need('MANTAGO_SECRET'),
        ...(line
          ? { intentId: 'rb2kYmMdW', name: 'order-paid-line' }
          : { message: `Thank you ${e.customer.name}! Order ${e.orderId} is paid: ${e.total.toFixed(2)} ${e.currency}.`, fbTag: 'POST_PURCHASE_UPDATE', name: 'order-paid-facebook' }),
      }),
    };
  }
  if (vendor === 'joinchat') {
    const secret = need('JOINCHAT_SECRET');
    const body = (e: OrderPaid) => ({
      recipient: { id: e.customer.channels.messenger?.psid },
      message: {
        template_type: 'receipt', recipient_name: e.customer.name, order_number: e.orderId, currency: e.currency,
        payment_method: 'Paid online', timestamp: Math.floor(Date.parse(e.paidAt) / 1000), summary: { total_cost: e.total },
        elements: e.items.map((item) => ({ title: item.name.slice(0, 80), quantity: item.quantity, price: item.unitPrice, currency: e.currency })),
      },
      tag: 'POST_PURCHASE_UPDATE',
      delay: 5,
    });
    return {
      url: `${need('JOINCHAT_BASE_URL')}/send_message`,
      headers: {},
      body,
      signed(e) {
        // page_id as a JSON integer, written by hand (it exceeds 2^53), then signed over the exact bytes sent.
        const raw = `{"page_id":${need('JOINCHAT_PAGE_ID')},${JSON.stringify(body(e)).slice(1)}`;
        return { raw, headers: { 'content-type': 'application/json', 'x-joinchat-signature': signJoinchatBody(raw, secret) } };
      },
    };
  }
  throw new Error(`no baseline target for vendor "${vendor}" (metabot, twin24, mantago-line, mantago-facebook, joinchat)`);
}
