import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RecordedRequest, SandboxLogger, SandboxVendor, VendorFaults } from './types.js';

/**
 * What every vendor shares: the request as the vendor saw it, the answer a handler decides on, the record of both,
 * and the faults injected in front of the handlers. Vendor files only decide answers; this file does the plumbing.
 */

/** `read` endpoints (statistics) never count as accepted: tests count sends and token calls. */
export type EndpointKind = 'send' | 'auth' | 'read';

export interface VendorRequest {
  method: string;
  /** The vendor's own path, after the sandbox prefix, without the query. */
  path: string;
  params: Record<string, string>;
  query: Record<string, string>;
  headers: Record<string, string>;
  /** The exact bytes received: signatures are checked over these, never over a re-serialisation. */
  rawBytes: Buffer;
  rawBody: string;
  /** The parsed JSON body; undefined when empty or malformed (then jsonError says why). */
  json: unknown;
  jsonError?: string;
}

export interface Outcome {
  status: number;
  body: unknown;
  /** Required for rejections: a person reads it in the records and the logs. */
  reason?: string;
  headers?: Record<string, string>;
}

export interface VendorRoute {
  method: 'GET' | 'POST';
  url: string;
  kind: EndpointKind;
  handle(req: VendorRequest): Outcome | Promise<Outcome>;
}

export interface VendorMount {
  vendor: SandboxVendor;
  prefix: string;
  routes: VendorRoute[];
}

interface Entry {
  record: RecordedRequest;
  fullPath: string;
}

/** Every vendor request in arrival order, accepted or not. */
export class Recorder {
  private entries: Entry[] = [];
  private nextSeq = 1;

  constructor(private readonly logger?: SandboxLogger) {}

  add(record: Omit<RecordedRequest, 'seq'>, fullPath: string): void {
    const full: RecordedRequest = { seq: this.nextSeq++, ...record };
    this.entries.push({ record: full, fullPath });
    const { seq, vendor, method, path, status, accepted, reason } = full;
    this.logger?.info({ seq, vendor, method, path, status, accepted, reason }, 'sandbox request');
  }

  list(vendor?: SandboxVendor, acceptedOnly = false): RecordedRequest[] {
    return this.entries
      .map((e) => e.record)
      .filter((r) => (vendor === undefined || r.vendor === vendor) && (!acceptedOnly || r.accepted));
  }

  /** `path` may be the vendor path (`/openapi/broadcast`) or the full one (`/mantago/api/openapi/broadcast`). */
  maxInWindow(vendor: SandboxVendor, windowMs: number, path?: string): number {
    const times = this.entries
      .filter((e) => e.record.vendor === vendor && (path === undefined || e.record.path === path || e.fullPath === path))
      .map((e) => e.record.at);
    // Two pointers over arrival times (already sorted): the window [t, t + windowMs) holds times[start..end].
    let best = 0;
    let start = 0;
    for (let end = 0; end < times.length; end++) {
      while ((times[end] as number) - (times[start] as number) >= windowMs) start++;
      best = Math.max(best, end - start + 1);
    }
    return best;
  }

  clear(): void {
    this.entries = [];
  }
}

export type FaultVerdict = { kind: 'pass'; dripMs?: number } | { kind: 'refuse' } | { kind: 'answer'; outcome: Outcome } | { kind: 'huge'; bytes: number };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Per-vendor injected trouble, applied in a fixed order: refuse, latency, rate limit, error rate. */
export class FaultInjector {
  private faults = new Map<SandboxVendor, VendorFaults>();
  /** Arrival times of the requests the rate limit let through, per vendor (a sliding-window log). */
  private admitted = new Map<SandboxVendor, number[]>();

  set(vendor: SandboxVendor, faults: VendorFaults): void {
    this.faults.set(vendor, { ...faults });
    this.admitted.delete(vendor);
  }

  clear(): void {
    this.faults.clear();
    this.admitted.clear();
  }

  async apply(vendor: SandboxVendor): Promise<FaultVerdict> {
    const f = this.faults.get(vendor);
    if (!f) return { kind: 'pass' };
    if (f.refuseConnections) return { kind: 'refuse' };
    if (f.hugeBodyBytes) return { kind: 'huge', bytes: f.hugeBodyBytes };
    if (f.latencyMs && f.latencyMs > 0) await sleep(f.latencyMs);
    if (f.rateLimit) {
      const { max, durationMs, retryAfterSec } = f.rateLimit;
      const now = Date.now();
      const log = (this.admitted.get(vendor) ?? []).filter((t) => now - t < durationMs);
      this.admitted.set(vendor, log);
      if (log.length >= max) {
        const untilFree = (log[0] ?? now) + durationMs - now;
        const retryAfter = retryAfterSec ?? Math.max(1, Math.ceil(untilFree / 1000));
        return {
          kind: 'answer',
          outcome: {
            status: 429,
            body: { error: 'Too Many Requests' },
            headers: { 'retry-after': String(retryAfter) },
            reason: `injected 429: more than ${max} requests in ${durationMs} ms`,
          },
        };
      }
      log.push(now);
    }
    if (f.errorRate && Math.random() < f.errorRate) {
      return { kind: 'answer', outcome: { status: 503, body: { error: 'injected' }, reason: 'injected 503' } };
    }
    return f.dripMs ? { kind: 'pass', dripMs: f.dripMs } : { kind: 'pass' };
  }
}

export interface SandboxRuntime {
  recorder: Recorder;
  faults: FaultInjector;
}

function flatten(values: Record<string, unknown>, joiner: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) continue;
    out[key] = Array.isArray(value) ? value.map(String).join(joiner) : String(value);
  }
  return out;
}

function toVendorRequest(req: FastifyRequest, prefix: string): VendorRequest {
  const rawBytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  const rawBody = rawBytes.toString('utf8');
  let json: unknown;
  let jsonError: string | undefined;
  if (rawBytes.length === 0) jsonError = 'the body is empty';
  else {
    try {
      json = JSON.parse(rawBody);
    } catch (err) {
      jsonError = `the body is not valid JSON (${(err as Error).message})`;
    }
  }
  const fullPath = req.url.split('?')[0] ?? '';
  return {
    method: req.method,
    path: fullPath.slice(prefix.length) || '/',
    params: flatten((req.params ?? {}) as Record<string, unknown>, ','),
    query: flatten((req.query ?? {}) as Record<string, unknown>, ','),
    headers: flatten(req.headers, ', '),
    rawBytes,
    rawBody,
    json,
    jsonError,
  };
}

/** Runs faults, then the vendor's handler, records what happened and answers (or hangs up). */
async function serve(
  rt: SandboxRuntime,
  mount: VendorMount,
  kind: EndpointKind,
  decide: (req: VendorRequest) => Outcome | Promise<Outcome>,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const at = Date.now();
  const vreq = toVendorRequest(req, mount.prefix);
  const record = (status: number, response: unknown, accepted: boolean, reason?: string) =>
    rt.recorder.add(
      {
        vendor: mount.vendor, at, method: vreq.method, path: vreq.path, query: vreq.query, headers: vreq.headers,
        rawBody: vreq.rawBody, body: vreq.json ?? null, status, response, accepted, ...(reason ? { reason } : {}),
      },
      mount.prefix + vreq.path,
    );

  const verdict = await rt.faults.apply(mount.vendor);
  if (verdict.kind === 'refuse') {
    record(0, null, false, 'injected connection refusal');
    reply.hijack();
    req.raw.socket.destroy();
    return;
  }
  if (verdict.kind === 'huge') {
    record(500, null, false, `injected ${verdict.bytes}-byte error body`);
    reply.hijack();
    streamBody(reply, 500, verdict.bytes);
    return;
  }
  let outcome: Outcome;
  if (verdict.kind === 'answer') outcome = verdict.outcome;
  else {
    try {
      outcome = await decide(vreq);
    } catch (err) {
      outcome = { status: 500, body: { error: 'sandbox failure' }, reason: `sandbox bug: ${(err as Error).stack ?? String(err)}` };
    }
  }
  const ok = verdict.kind === 'pass' && outcome.status >= 200 && outcome.status < 300;
  record(outcome.status, outcome.body, ok && kind !== 'read', outcome.reason);
  if (verdict.kind === 'pass' && verdict.dripMs) {
    reply.hijack();
    drip(reply, outcome, verdict.dripMs);
    return;
  }
  await reply.code(outcome.status).headers(outcome.headers ?? {}).send(outcome.body);
}

/** The real answer, one byte per `everyMs`, until done or the client hangs up. */
function drip(reply: FastifyReply, outcome: Outcome, everyMs: number): void {
  const bytes = Buffer.from(JSON.stringify(outcome.body ?? null));
  const res = reply.raw;
  res.writeHead(outcome.status, { 'content-type': 'application/json', 'content-length': String(bytes.length) });
  let i = 0;
  const timer = setInterval(() => {
    if (res.destroyed || i >= bytes.length) {
      clearInterval(timer);
      if (!res.destroyed) res.end();
      return;
    }
    res.write(bytes.subarray(i, i + 1));
    i += 1;
  }, everyMs);
  res.on('close', () => clearInterval(timer));
}

/** `total` bytes of filler in 64 KiB chunks, respecting backpressure; stops when the client hangs up. */
function streamBody(reply: FastifyReply, status: number, total: number): void {
  const res = reply.raw;
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': String(total) });
  let sent = 0;
  const pump = (): void => {
    while (sent < total && !res.destroyed) {
      const n = Math.min(chunk.length, total - sent);
      sent += n;
      if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
        res.once('drain', pump);
        return;
      }
    }
    if (!res.destroyed) res.end();
  };
  pump();
}

/** Mounts one vendor's routes under its prefix, with raw-body parsing, a recorded 404 and a recorded error path. */
export async function mountVendor(app: FastifyInstance, rt: SandboxRuntime, mount: VendorMount): Promise<void> {
  await app.register(
    async (scope) => {
      // Every body stays the exact bytes received, whatever its content type: vendors sign and parse those bytes.
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

      for (const route of mount.routes) {
        scope.route({
          method: route.method,
          url: route.url,
          handler: (req, reply) => serve(rt, mount, route.kind, (r) => route.handle(r), req, reply),
        });
      }
      scope.setNotFoundHandler((req, reply) =>
        serve(rt, mount, 'read', (r) => ({
          status: 404,
          body: { error: 'Not Found' },
          reason: `no such endpoint: ${r.method} ${r.path}`,
        }), req, reply),
      );
      // Errors raised before a handler runs (e.g. a body over the size limit) are recorded like any answer.
      scope.setErrorHandler((err: { statusCode?: number; message: string }, req, reply) => {
        const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
        const message = err.message;
        return serve(rt, mount, 'read', () => ({ status, body: { error: message }, reason: message }), req, reply);
      });
    },
    { prefix: mount.prefix },
  );
}
