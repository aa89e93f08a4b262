import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import type { ControllerHandlerReturnType, HookContext, IServerAdapter } from '@bull-board/api/typings/app';
import { FastifyAdapter } from '@bull-board/fastify';
import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { RedisConnection } from '../queues/connection.js';
import type { Keyspace } from '../queues/keyspace.js';
import { queueAt } from '../queues/options.js';
import { allQueueNames } from '../queues/names.js';
import { VENDORS } from '../vendors/registry.js';
import type { Logger } from '../runtime/logger.js';
import type { Redactor } from '../runtime/redact.js';
import { requireBasic, type AuthFailureLimiter, type BasicUser } from './auth.js';
import { decide, queueFlagsFor, type DashboardRole } from './dashboard-policy.js';

export const DASHBOARD_PATH = '/admin/queues';
/** Job ids written into one audit line at most (a "retry all" of a large failed set logs the count and the first ones). */
const AUDIT_MAX_IDS = 500;

export interface DashboardOptions {
  connection: RedisConnection;
  /** Where each queue lives (REDIS_KEY_LAYOUT). */
  keys: Keyspace;
  /** Delivery-queue partitions: the board lists every one. */
  partitions?: Readonly<Record<string, number>>;
  /** The read-only user, and the optional operator. */
  users: ReadonlyArray<BasicUser<DashboardRole>>;
  redactor: Redactor;
  logger: Logger;
  limiter?: AuthFailureLimiter;
  queueNames?: readonly string[];
}

/** Job texts Bull Board shows unformatted: failure reasons, stack traces and job logs may quote a vendor answer. */
const TEXT_FIELDS = new Set(['failedReason', 'stacktrace', 'logs']);

interface BoardQueue { getJob(id: string): Promise<{ getState(): Promise<string>; id?: string } | undefined | null>; getJobs(s: string[], start?: number, end?: number): Promise<Array<{ id?: string }>>; getJobCounts(): Promise<Record<string, number>> }

/**
 * Bull Board for every queue, behind basic auth, with roles (see dashboard-policy.ts). One board serves both roles:
 * the sign-in decides the role per request, Bull Board's handler hook `before` enforces the allow-list on every API
 * call, and `after` tells the UI the role's flags (`readOnlyMode` for a viewer) so it hides what would be refused.
 * Job data and return values go through the project's Redactor (secrets removed, phones and e-mails masked), and
 * failure texts are scrubbed too.
 */
export async function registerDashboard(app: FastifyInstance, opts: DashboardOptions): Promise<{ close(): Promise<void> }> {
  const queues = (opts.queueNames ?? allQueueNames(VENDORS, opts.partitions)).map((name) => {
    const queue = new Queue(name, { connection: opts.connection, ...queueAt(opts.keys, name) });
    queue.on('error', () => {}); // the board answers 500 for that request; the process stays up
    return queue;
  });
  const adapters = queues.map((queue) => {
    const adapter = new BullMQAdapter(queue, { allowRetries: true });
    adapter.setFormatter('data', (data: unknown) => opts.redactor.value(data));
    adapter.setFormatter('returnValue', (value: unknown) => opts.redactor.value(value));
    return adapter;
  });
  // Bull Board hands its hooks the request's headers object, not the Fastify request: the sign-in is keyed by it.
  const signedIn = new WeakMap<object, BasicUser<DashboardRole>>();
  const log = opts.logger.child({ component: 'dashboard' });

  async function guard(ctx: HookContext) {
    const req = ctx.request as unknown as { headers?: object; params?: Record<string, string>; queues?: Map<string, BoardQueue> } | undefined;
    const user = req?.headers ? signedIn.get(req.headers) : undefined;
    const decision = decide(user?.role, ctx.method, ctx.route, req?.params);
    if (!decision.allow) {
      if (ctx.method.toLowerCase() !== 'get') log.warn({ user: user?.user, role: user?.role, action: `${ctx.method.toUpperCase()} ${ctx.route}`, queue: req?.params?.queueName }, 'dashboard action refused');
      return { allow: false, status: 403 as const, message: decision.reason };
    }
    if (!decision.audit) return undefined;
    const queueName = req?.params?.queueName;
    const queue = queueName ? req?.queues?.get(queueName) : undefined;
    if (!queue) return undefined; // Bull Board answers 404 itself
    let jobIds: string[] = [];
    let total: number | undefined;
    if (decision.jobState) {
      const id = req!.params!.jobId!;
      const job = await queue.getJob(id);
      const state = job ? await job.getState() : 'missing';
      if (job && state !== decision.jobState) {
        return { allow: false, status: 403 as const, message: `job ${id} is ${state}: only ${decision.jobState} jobs may be ${decision.action.split('-')[0]}d here` };
      }
      jobIds = [id];
    } else if (decision.bulkState) {
      total = (await queue.getJobCounts())[decision.bulkState] ?? 0;
      jobIds = (await queue.getJobs([decision.bulkState], 0, AUDIT_MAX_IDS - 1)).map((j) => String(j.id));
    }
    log.info({ user: user!.user, role: user!.role, action: decision.action, queue: queueName, jobIds, ...(total !== undefined ? { total } : {}) }, 'dashboard action');
    return undefined;
  }

  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(DASHBOARD_PATH);
  createBullBoard({
    queues: adapters,
    // @bull-board/fastify pins its own patch release of @bull-board/api; the types differ only in private fields.
    serverAdapter: serverAdapter as unknown as IServerAdapter,
    options: {
      uiConfig: { boardTitle: 'order-notify' },
      handlerHooks: {
        before: guard,
        after: (ctx: HookContext, result: ControllerHandlerReturnType) => {
          const headers = (ctx.request as unknown as { headers?: object } | undefined)?.headers;
          const role = headers ? signedIn.get(headers)?.role : undefined;
          return { ...result, body: withRoleFlags(scrubTexts(result.body, opts.redactor), role) };
        },
      },
    },
  });

  await app.register(async (scope) => {
    scope.addHook('onRequest', requireBasic(opts.users, { limiter: opts.limiter, onUser: (req, user) => signedIn.set(req.headers, user) }));
    await scope.register(serverAdapter.registerPlugin(), { prefix: DASHBOARD_PATH });
  });
  return { close: async () => { await Promise.all(queues.map((q) => q.close())); } };
}

function withRoleFlags<T>(body: T, role: DashboardRole | undefined): T {
  const b = body as { queues?: unknown };
  if (!b || typeof b !== 'object' || !Array.isArray(b.queues)) return body;
  const flags = queueFlagsFor(role);
  return { ...b, queues: b.queues.map((q: unknown) => (q && typeof q === 'object' ? { ...q, ...flags } : q)) } as T;
}

function scrubTexts<T>(body: T, redactor: Redactor, key = '', depth = 0): T {
  if (depth > 8 || body === null || typeof body !== 'object') {
    return (typeof body === 'string' && TEXT_FIELDS.has(key) ? redactor.text(body) : body) as T;
  }
  if (Array.isArray(body)) {
    return body.map((v) => (typeof v === 'string' && TEXT_FIELDS.has(key) ? redactor.text(v) : scrubTexts(v, redactor, key, depth + 1))) as T;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) {
    // Job data and return values were formatted already; masking them twice would change the masks.
    out[k] = k === 'data' || k === 'returnValue' ? v : scrubTexts(v, redactor, k, depth + 1);
  }
  return out as T;
}
