import type { Outcome, VendorRequest, VendorRoute } from '../../sandbox/recorder.js';
import type { VendorSandbox } from '../types.js';
import { checkHttpSignature } from './sign.js';

/**
 * A shop gateway as the `http` vendor expects one: refuses a request whose signature (over the exact bytes) or
 * timestamp is off, or that lacks the idempotency key or a JSON object body. `POST /status/<code>` answers
 * <code> after the same checks, so tests can see how each status is treated.
 */
export const HTTP_SANDBOX_DEFAULTS = { secret: 'sandbox-http-vendor-secret-0123456789', signatureHeader: 'x-order-notify-signature' };

export function httpReceiver(credentials: { secret: string; signatureHeader: string }): VendorRoute[] {
  let next = 1;
  const check = (req: VendorRequest): Outcome | undefined => {
    const fail = (status: number, reason: string): Outcome => ({ status, body: { error: reason }, reason });
    if (!/^application\/json/.test(req.headers['content-type'] ?? '')) return fail(415, 'content-type must be application/json');
    const bad = checkHttpSignature(req.headers[credentials.signatureHeader.toLowerCase()], req.rawBody, credentials.secret, Math.floor(Date.now() / 1000));
    if (bad) return fail(401, bad);
    if (!req.headers['idempotency-key']) return fail(400, 'idempotency-key header missing');
    if (typeof req.json !== 'object' || req.json === null || Array.isArray(req.json)) return fail(400, `body must be a JSON object${req.jsonError ? `: ${req.jsonError}` : ''}`);
    return undefined;
  };
  return [
    { method: 'POST', url: '/hook', kind: 'send', handle: (req) => check(req) ?? { status: 200, body: { id: `http-${next++}` } } },
    { method: 'POST', url: '/other', kind: 'send', handle: (req) => check(req) ?? { status: 202, body: { id: `other-${next++}` } } },
    {
      method: 'POST', url: '/status/:code', kind: 'send',
      handle: (req) => check(req) ?? { status: Number(req.params.code), body: { error: `forced ${req.params.code}` }, reason: `forced ${req.params.code}` },
    },
  ];
}

export const httpSandbox: VendorSandbox = {
  create() {
    const credentials = { ...HTTP_SANDBOX_DEFAULTS };
    return {
      mounts: { '/http': httpReceiver(credentials) },
      credentials,
      env: (base) => ({ HTTP_VENDOR_URL: `${base}/http/hook`, HTTP_VENDOR_SECRET: credentials.secret }),
    };
  },
};
