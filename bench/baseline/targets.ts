import type { OrderPaid } from '../../src/events/order-paid.js';

/**
 * The vendor request a hand-written worker would make for one order.paid event: the same endpoint, auth and body
 * shape as the example rule, built with plain code (no routes, templates, validation, ledger or records).
 */
export interface BareTarget {
  url: string;
  headers: Record<string, string>;
  body(event: OrderPaid): unknown;
}

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
  throw new Error(`no baseline target for vendor "${vendor}" (metabot, twin24)`);
}
