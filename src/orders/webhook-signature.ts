import { Webhook } from 'standardwebhooks';

/**
 * Standard Webhooks (https://www.standardwebhooks.com) signing for RESULTS_WEBHOOK_URL, by the `standardwebhooks`
 * package (the spec authors' reference library, so receivers using any Standard Webhooks library verify us):
 *   webhook-id: <event id>   webhook-timestamp: <unix seconds>
 *   webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">
 * A receiver refuses timestamps older than its tolerance (the library's is 5 minutes) and ids it has seen, so a
 * captured request cannot be replayed. RESULTS_WEBHOOK_SECRET may list several secrets separated by commas while
 * a secret is rotated: every request is signed with each, the signatures space-separated in one header.
 * A secret written `whsec_<base64>` (the spec's format) is the decoded bytes; any other value its UTF-8 bytes.
 */
export const WEBHOOK_HEADERS = { id: 'webhook-id', timestamp: 'webhook-timestamp', signature: 'webhook-signature' } as const;

export type WebhookSigner = Webhook;

export function webhookSecretList(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

function keyBytes(secret: string): Uint8Array {
  return secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret, 'utf8');
}

export function webhookSigners(value: string): WebhookSigner[] {
  return webhookSecretList(value).map((s) => new Webhook(keyBytes(s), { format: 'raw' }));
}

/** The three Standard Webhooks headers for these exact body bytes. */
export function signWebhook(signers: readonly WebhookSigner[], id: string, at: Date, body: string): Record<string, string> {
  return {
    [WEBHOOK_HEADERS.id]: id,
    [WEBHOOK_HEADERS.timestamp]: String(Math.floor(at.getTime() / 1000)),
    [WEBHOOK_HEADERS.signature]: signers.map((s) => s.sign(id, at, body)).join(' '),
  };
}

/** What a receiver does (and our tests): throws unless one signature matches and the timestamp is recent. */
export function verifyWebhook(secret: string, body: string | Buffer, headers: Record<string, string>): void {
  new Webhook(keyBytes(secret), { format: 'raw' }).verify(body, headers, { jsonParse: false });
}
