import { describeVendorFaults } from './joinchat-metabot.faults.js';

describeVendorFaults({
  vendor: 'metabot',
  rateLimitEnv: 'METABOT_RATE_LIMIT',
  payload: (i) => ({ script_code: 'order_paid_followup', lead_id: 1000 + i, script_request_params: { order_id: `O-${i}` } }),
  key: (i) => String(1000 + i),
  keyOfBody: (body) => String(body.lead_id),
  // A bot id the token does not own: Metabot answers 404 with its message.
  permanent: { env: { METABOT_BOT_ID: '999' }, status: 404, reason: /^metabot 404: Bot 999 not found$/ },
});
