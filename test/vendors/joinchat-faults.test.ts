import { describeVendorFaults } from './joinchat-metabot.faults.js';

describeVendorFaults({
  vendor: 'joinchat',
  rateLimitEnv: 'JOINCHAT_RATE_LIMIT',
  payload: (i) => ({ recipient: { id: `psid-${i}` }, message: { template_type: 'text', text: `Order ${i} is paid` } }),
  key: (i) => `psid-${i}`,
  keyOfBody: (body) => body.recipient.id,
  // A page id the sandbox does not know: JoinChat answers 400 with its code 100 and a message naming page_id.
  permanent: { env: { JOINCHAT_PAGE_ID: '999' }, status: 400, reason: /^joinchat 100: page_id: 999 is not this bot's page/ },
});
