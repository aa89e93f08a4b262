import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import type { ControllerHandlerReturnType, HookContext, IServerAdapter } from '@bull-board/api/typings/app';
import { FastifyAdapter } from '@bull-board/fastify';
import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { RedisConnection } from '../queues/connection.js';
import { allQueueNames } from '../queues/names.js';
import type { Redactor } from '../runtime/redact.js';
import { requireBasic } from './auth.js';

export const DASHBOARD_PATH = '/admin/queues';

export interface DashboardOptions {
  connection: RedisConnection;
  prefix: string;
  credentials: { user: string; password: string };
  redactor: Redactor;
  queueNames?: readonly string[];
}

/** Job texts Bull Board shows unformatted: failure reasons, stack traces and job logs may quote a vendor answer. */
const TEXT_FIELDS = new Set(['failedReason', 'stacktrace', 'logs']);

/**
 * Bull Board for every queue, behind basic auth. Job data and return values go through the project's Redactor
 * (secrets removed, phones and e-mails masked), failure texts are scrubbed too, and because the board now shows
 * masked data, saving edited job data is refused: it would write the masks into the job.
 */
export async function registerDashboard(app: FastifyInstance, opts: DashboardOptions): Promise<{ close(): Promise<void> }> {
  const queues = (opts.queueNames ?? allQueueNames()).map((name) => {
    const queue = new Queue(name, { connection: opts.connection, prefix: opts.prefix });
    queue.on('error', () => {}); // the board answers 500 for that request; the process stays up
    return queue;
  });
  const adapters = queues.map((queue) => {
    const adapter = new BullMQAdapter(queue, { allowRetries: true });
    adapter.setFormatter('data', (data: unknown) => opts.redactor.value(data));
    adapter.setFormatter('returnValue', (value: unknown) => opts.redactor.value(value));
    return adapter;
  });

  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(DASHBOARD_PATH);
  createBullBoard({
    queues: adapters,
    // @bull-board/fastify pins its own patch release of @bull-board/api; the types differ only in private fields.
    serverAdapter: serverAdapter as unknown as IServerAdapter,
    options: {
      uiConfig: { boardTitle: 'order-notify' },
      handlerHooks: {
        before: (ctx: HookContext) => (ctx.route.endsWith('/update-data')
          ? { allow: false, status: 403, message: 'job data is shown redacted here, so it cannot be edited from the dashboard' }
          : undefined),
        after: (_ctx: HookContext, result: ControllerHandlerReturnType) => ({ ...result, body: scrubTexts(result.body, opts.redactor) }),
      },
    },
  });

  await app.register(async (scope) => {
    scope.addHook('onRequest', requireBasic(opts.credentials.user, opts.credentials.password));
    await scope.register(serverAdapter.registerPlugin(), { prefix: DASHBOARD_PATH });
  });
  return { close: async () => { await Promise.all(queues.map((q) => q.close())); } };
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
