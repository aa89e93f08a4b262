import { describe, expect, it } from 'vitest';
import { stripControls } from '../src/cli/io.js';
import { ConfigError, loadConfig } from '../src/config/env.js';
import { MAX_VENDOR_TEXT, PermanentVendorError } from '../src/delivery/errors.js';
import { MAX_EXTRA_BYTES, orderPaidSchema } from '../src/events/order-paid.js';
import { SAMPLE_ORDER_PAID } from '../src/events/sample.js';
import { decide } from '../src/http/dashboard-policy.js';
import { learnSecret, MAX_REDACTED_TEXT, REDACTED, Redactor, TEXT_PATTERNS } from '../src/runtime/redact.js';
import { joinchatMessageSchema } from '../src/vendors/joinchat/payload.js';
import { twin24PayloadSchema } from '../src/vendors/twin24/payload.js';

const HOSTILE_URLS = ['javascript:alert(1)', 'file:///etc/passwd', 'data:text/html,<script>alert(1)</script>', 'ftp://x.example/a'];

describe('redaction in linear time', () => {
  it('no pattern has an unbounded quantifier (*, + or {n,}), so a scan is linear in the text', () => {
    for (const re of TEXT_PATTERNS) {
      // Quantifiers outside character classes and escapes.
      const source = re.source.replace(/\\./g, '').replace(/\[[^\]]*\]/g, 'C');
      expect(source, re.source).not.toMatch(/[*+]|\{\d+,\}/);
    }
  });

  it('scrubs 1 MB of adversarial text of every shape quickly (old patterns: minutes)', () => {
    const r = new Redactor();
    const t0 = performance.now();
    for (const unit of ['a', 'a.', 'token', 'secret_', 'x%+-', '+1 ', 'bearer ', 'password:']) {
      const out = r.text(unit.repeat(Math.ceil(1_000_000 / unit.length)));
      expect(out.length).toBeLessThan(3 * MAX_REDACTED_TEXT); // cut, then masks may lengthen what is left
      expect(out).toMatch(/cut: \d+ characters in all\]$/);
    }
    expect(performance.now() - t0).toBeLessThan(2_000); // generous: a few ms each here
  });

  it('still finds what it is for, and never leaks a known secret cut in half by the length cap', () => {
    const r = new Redactor(['s3cret-value-123456']);
    expect(r.text('{"refreshToken":"abc"} Bearer xyz.123 mail somchai@example.com call +66 81 234 5678'))
      .toBe(`{"refreshToken":"${REDACTED}"} Bearer ${REDACTED} mail s***@example.com call +668*****678`);
    const straddling = `${'x'.repeat(MAX_REDACTED_TEXT - 5)}s3cret-value-123456`;
    expect(r.text(straddling)).not.toContain('s3cret');
  });

  it('removes secrets learnt at run time (a rotated MantaGO pair, a fresh Twin24 token) in every redactor', () => {
    const earlier = new Redactor();
    learnSecret('rotated-mantago-token-42');
    expect(earlier.text('sent with rotated-mantago-token-42')).toBe(`sent with ${REDACTED}`);
    expect(new Redactor().value({ note: 'rotated-mantago-token-42' })).toEqual({ note: REDACTED });
  });
});

describe('URLs are http(s) only', () => {
  it('in order.paid (orderUrl, items[].imageUrl)', () => {
    for (const url of HOSTILE_URLS) {
      const a = orderPaidSchema.safeParse({ ...SAMPLE_ORDER_PAID, orderUrl: url });
      expect(a.success, url).toBe(false);
      expect(a.error!.issues[0]!.path).toEqual(['orderUrl']);
      const b = orderPaidSchema.safeParse({ ...SAMPLE_ORDER_PAID, items: [{ ...SAMPLE_ORDER_PAID.items[0]!, imageUrl: url }] });
      expect(b.success, url).toBe(false);
    }
    expect(orderPaidSchema.safeParse({ ...SAMPLE_ORDER_PAID, orderUrl: 'http://shop.example/o/1' }).success).toBe(true);
  });

  it('in vendor payloads (JoinChat image_url and buttons, Twin24 callbackUrl)', () => {
    for (const url of HOSTILE_URLS) {
      expect(joinchatMessageSchema.safeParse({ template_type: 'generic', elements: [{ title: 't', image_url: url }] }).success, url).toBe(false);
      expect(joinchatMessageSchema.safeParse({ template_type: 'button', text: 't', buttons: [{ type: 'web_url', url, title: 'Open' }] }).success, url).toBe(false);
      expect(twin24PayloadSchema.safeParse({ chatSessionName: 's', text: 't', callbackUrl: url, destination: { phone: '66812345678' } }).success, url).toBe(false);
    }
    expect(joinchatMessageSchema.safeParse({ template_type: 'generic', elements: [{ title: 't', image_url: 'https://img.example/a.png' }] }).success).toBe(true);
  });
});

describe('caps on unknown extra fields of order.paid', () => {
  it(`refuses more than ${MAX_EXTRA_BYTES} bytes in all, naming the field, and keeps smaller extras`, () => {
    const many = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`x${i}`, 'y'.repeat(1_900)]));
    const res = orderPaidSchema.safeParse({ ...SAMPLE_ORDER_PAID, ...many });
    expect(res.success).toBe(false);
    expect(res.error!.issues[0]!.message).toMatch(/^x\d: the extra fields .* at most 16384 bytes/);
    const ok = orderPaidSchema.safeParse({ ...SAMPLE_ORDER_PAID, note: 'n'.repeat(2_000), meta: { a: [1, 2, 3] } });
    expect(ok.success).toBe(true);
    expect((ok.data as Record<string, unknown>).meta).toEqual({ a: [1, 2, 3] });
  });
});

describe('vendor texts', () => {
  it('are cut to MAX_VENDOR_TEXT and lose control characters', () => {
    const e = new PermanentVendorError(`\u001b[2J\u0007${'m'.repeat(5_000)}`, { vendor: 'joinchat', code: 10010 });
    expect(e.message.length).toBeLessThanOrEqual(MAX_VENDOR_TEXT + 30);
    expect(e.message).not.toMatch(/[\u0000-\u001f]/);
    expect(e.message.startsWith('joinchat 10010:')).toBe(true);
  });
});

describe('CLI output', () => {
  it('loses terminal control sequences but keeps newlines and tabs', () => {
    expect(stripControls('a\u001b]0;pwned\u0007b\u001b[2Jc\td\n\u009b31m')).toBe('a]0;pwnedb[2Jc\td\n31m');
  });
});

describe('results webhook configuration', () => {
  const env = { RESULTS_WEBHOOK_SECRET: 'whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=' };
  const problems = (e: Record<string, string>) => {
    try {
      loadConfig(e);
      return [];
    } catch (err) {
      return (err as ConfigError).problems;
    }
  };
  it('requires https except on loopback, and secrets of at least 24 bytes (each, during a rotation)', () => {
    expect(problems({ ...env, RESULTS_WEBHOOK_URL: 'http://shop.example/hook' })).toEqual([expect.stringMatching(/^RESULTS_WEBHOOK_URL: must be https/)]);
    for (const url of ['https://shop.example/hook', 'http://127.0.0.1:8080/hook', 'http://localhost/hook', 'http://[::1]/hook']) {
      expect(problems({ ...env, RESULTS_WEBHOOK_URL: url }), url).toEqual([]);
    }
    expect(problems({ RESULTS_WEBHOOK_URL: 'https://shop.example/hook', RESULTS_WEBHOOK_SECRET: `${env.RESULTS_WEBHOOK_SECRET},short` }))
      .toEqual([expect.stringMatching(/^RESULTS_WEBHOOK_SECRET: secret #2 is 5 bytes; at least 24/)]);
  });
});

describe('dashboard policy (allow-list)', () => {
  it('refuses anything it does not name, for every role; operators only act on failed/delayed jobs', () => {
    for (const role of ['viewer', 'operator', undefined] as const) {
      expect(decide(role, 'post', '/api/queues/:queueName/add').allow).toBe(false);
      expect(decide(role, 'put', '/api/queues/:queueName/some-future-route').allow).toBe(false);
      expect(decide(role, 'put', '/api/queues/:queueName/retry/:queueStatus', { queueStatus: 'completed' }).allow).toBe(false);
    }
    expect(decide(undefined, 'get', '/api/queues').allow).toBe(false);
    expect(decide('viewer', 'get', '/api/queues').allow).toBe(true);
    expect(decide('viewer', 'put', '/api/queues/:queueName/:jobId/retry').allow).toBe(false);
    expect(decide('operator', 'put', '/api/queues/:queueName/:jobId/retry')).toMatchObject({ allow: true, jobState: 'failed' });
    expect(decide('operator', 'put', '/api/queues/:queueName/retry/:queueStatus', { queueStatus: 'failed' })).toMatchObject({ allow: true, bulkState: 'failed' });
  });
});
