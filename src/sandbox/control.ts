import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { describeIssues } from './issues.js';
import { vendorDefinition, VENDORS } from '../vendors/registry.js';
import { SANDBOX_VENDORS, type Sandbox } from './types.js';

/**
 * The HTTP twin of the Sandbox methods, under /_sandbox, for tests that drive the sandbox from another process
 * (worker children, the CLI). These requests are not vendor traffic: they are never recorded nor faulted.
 */

export type SandboxControl = Omit<Sandbox, 'url' | 'urls' | 'vendorEnv' | 'close'>;

/** The built-in imitations plus every registered vendor that brings its own. */
const MOUNTED = [...SANDBOX_VENDORS, ...VENDORS.filter((v) => vendorDefinition(v).sandbox)] as [string, ...string[]];
const vendor = z.enum(MOUNTED, { message: `must be one of ${MOUNTED.join(', ')}` });
const tokenVendor = z.enum(['mantago', 'twin24'], { message: 'must be mantago or twin24' });

export const faultsSchema = z.strictObject({
  latencyMs: z.number().nonnegative().optional(),
  errorRate: z.number().min(0).max(1).optional(),
  rateLimit: z
    .strictObject({
      max: z.number().int().positive(),
      durationMs: z.number().positive(),
      retryAfterSec: z.number().int().nonnegative().optional(),
    })
    .optional(),
  refuseConnections: z.boolean().optional(),
  dripMs: z.number().positive().optional(),
  hugeBodyBytes: z.number().int().positive().optional(),
});

const requestsQuery = z.object({ vendor: vendor.optional(), accepted: z.enum(['0', '1', 'true', 'false']).optional() });
const windowQuery = z.object({ vendor, windowMs: z.coerce.number().positive(), path: z.string().optional() });
const faultsBody = z.object({ vendor, faults: faultsSchema });
const expireBody = z.object({ vendor: tokenVendor });

type Vendor = (typeof MOUNTED)[number];

function parse<T>(schema: z.ZodType<T>, value: unknown, reply: FastifyReply): T | undefined {
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  void reply.code(400).send({ error: describeIssues(parsed.error).join('; ') });
  return undefined;
}

export async function registerControl(app: FastifyInstance, control: SandboxControl): Promise<void> {
  await app.register(
    async (scope) => {
      // A bodiless POST (reset) with a JSON content type is fine here; fastify's own parser would refuse it.
      scope.removeContentTypeParser('application/json');
      scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
        try {
          done(null, body === '' ? undefined : JSON.parse(body as string));
        } catch (err) {
          done(Object.assign(err as Error, { statusCode: 400 }), undefined);
        }
      });
      scope.get('/requests', async (req, reply) => {
        const q = parse(requestsQuery, req.query, reply);
        if (!q) return reply;
        const acceptedOnly = q.accepted === '1' || q.accepted === 'true';
        return acceptedOnly ? control.accepted(q.vendor as Vendor | undefined) : control.requests(q.vendor as Vendor | undefined);
      });
      scope.get('/max-in-window', async (req, reply) => {
        const q = parse(windowQuery, req.query, reply);
        if (!q) return reply;
        return { max: control.maxInWindow(q.vendor as Vendor, q.windowMs, q.path) };
      });
      scope.post('/faults', async (req, reply) => {
        const b = parse(faultsBody, req.body, reply);
        if (!b) return reply;
        control.setFaults(b.vendor as Vendor, b.faults);
        return { ok: true };
      });
      scope.post('/expire-token', async (req, reply) => {
        const b = parse(expireBody, req.body, reply);
        if (!b) return reply;
        control.expireToken(b.vendor);
        return { ok: true };
      });
      scope.get('/twin24/messages', async () => control.twin24Messages());
      scope.get('/credentials', async () => control.credentials);
      scope.post('/reset', async () => {
        control.reset();
        return { ok: true };
      });
    },
    { prefix: '/_sandbox' },
  );
}
