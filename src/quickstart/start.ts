import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type pino from 'pino';
import type { OrderRecord } from '../orders/record.js';
import { createProducer } from '../producer/producer.js';
import { sandboxEnv } from '../sandbox/env.js';
import { startSandbox } from '../sandbox/index.js';
import type { Sandbox } from '../sandbox/types.js';
import { ConfigError } from '../config/env.js';
import { RoutesError } from '../fanout/routes.js';
import { EXIT, StartupError } from '../runtime/exit-codes.js';
import { onShutdown } from '../runtime/shutdown.js';
import { processComponents, runProcess, startProcess, type RunningProcess } from '../app/worker-process.js';
import { redisAnswers, redisServerOnPath, startEmbeddedRedis, type EmbeddedRedis } from './embedded-redis.js';
import { renderProgress, renderSummary, settled } from './progress.js';
import { planStartup, type StartupPlan } from './startup-plan.js';

export interface OutOfTheBoxOptions {
  env?: NodeJS.ProcessEnv;
  /** Where the person reads progress and the summary (default stdout). */
  out?: { write(text: string): unknown };
  logDestination?: pino.DestinationStream;
  /** Give up waiting for the example orders to settle after this long (default 3 min). */
  settleTimeoutMs?: number;
  progressEveryMs?: number;
  /** Already decided by the caller (decideStartup); decided here when absent. */
  plan?: StartupPlan;
}

export interface OutOfTheBox {
  plan: StartupPlan;
  running: RunningProcess;
  /** Resolves with the settled records of the example orders (demo mode), or undefined when nothing was seeded. */
  summary: Promise<OrderRecord[] | undefined>;
  close(): Promise<void>;
}

/**
 * `npm start` with nothing configured: bring up what is missing (a private redis-server, the vendor sandbox for
 * vendors without credentials), run every component and the API in this process, and — only when everything is
 * local — enqueue the example orders and report how they went. With REDIS_URL and real credentials it is the
 * plain process and seeds nothing (the caller checks `needsOutOfTheBox` first).
 */
export async function startOutOfTheBox(opts: OutOfTheBoxOptions = {}): Promise<OutOfTheBox> {
  const env: NodeJS.ProcessEnv = { ...(opts.env ?? process.env) };
  const out = opts.out ?? process.stdout;
  const plan = opts.plan ?? (await decideStartup(env));
  let redis: EmbeddedRedis | undefined;
  let sandbox: Sandbox | undefined;
  let running: RunningProcess | undefined;
  const cleanup = async () => {
    await running?.close();
    await sandbox?.close();
    await redis?.stop();
  };
  try {
    if (plan.embeddedRedis) {
      redis = await startEmbeddedRedis();
      env.REDIS_URL = redis.url;
      out.write(`REDIS    embedded redis-server at ${redis.url} (temporary: removed on exit)\n`);
    }
    if (plan.sandboxVendors.length) {
      sandbox = await startSandbox({ port: 0 });
      Object.assign(env, sandboxEnv(sandbox, plan.sandboxVendors));
      out.write(`SANDBOX  ${plan.sandboxVendors.join(', ')} → the built-in vendor sandbox at ${sandbox.url} (no real customer is messaged)\n`);
    }
    if (plan.seedExamples) {
      // A demo should settle in seconds and stay readable: poll Twin24 often, log warnings only.
      env.TWIN24_POLL_EVERY ??= '2s';
      env.LOG_LEVEL ??= 'warn';
    }
    env.HTTP_PORT ??= String(await portOr(3000));
    env.METRICS_PORT ??= String(await portOr(9464));
    // Generated credentials and an embedded Redis: this run is for this machine only, so it listens on loopback.
    running = await startProcess(processComponents(), { env, generateMissingCredentials: true, logDestination: opts.logDestination, host: '127.0.0.1' });
    printAccess(out, running);
  } catch (e) {
    await cleanup();
    throw e;
  }
  const started = running;
  const summary = plan.seedExamples ? seedAndWatch(started, out, opts) : Promise.resolve(undefined);
  return { plan, running: started, summary, close: cleanup };
}

/**
 * What `npm start` must bring up itself. Uses a Redis on 127.0.0.1:6379 when one answers and REDIS_URL is unset
 * (and writes that into `env`).
 */
export async function decideStartup(env: NodeJS.ProcessEnv): Promise<StartupPlan> {
  const configured = Boolean(env.REDIS_URL || env.REDIS_CLUSTER_NODES);
  const localRedisAnswers = configured ? false : await redisAnswers('redis://127.0.0.1:6379');
  if (!configured && localRedisAnswers) env.REDIS_URL = 'redis://127.0.0.1:6379';
  return planStartup(env, { localRedisAnswers, redisServerOnPath: configured || localRedisAnswers || redisServerOnPath() });
}

function printAccess(out: { write(text: string): unknown }, running: RunningProcess): void {
  const api = running.api;
  if (!api) return;
  const c = api.credentials;
  out.write(`API      ${api.url}  (POST /v1/events/order-paid, GET /v1/orders/{id}, /healthz)\n`);
  if (running.probes) out.write(`METRICS  http://127.0.0.1:${running.probes.port}/metrics\n`);
  if (c.dashboard) out.write(`BOARD    ${api.url}/admin/queues  user ${c.dashboard.user}  password ${c.dashboard.password}${c.generated.includes('dashboard') ? '  (generated for this run)' : ''}\n`);
  if (c.dashboard) out.write(`TIMELINE ${api.url}/admin/orders?order=<order id>  (one order's deliveries and vendor health; same login)\n`);
  out.write(`INGEST   Authorization: Bearer ${c.ingestToken}${c.generated.includes('ingestToken') ? '  (generated for this run)' : ''}\n`);
  if (c.ordersReadToken) out.write(`READ     Authorization: Bearer ${c.ordersReadToken}  (GET /v1/orders/{id}${c.generated.includes('ordersReadToken') ? '; generated for this run' : ''})\n`);
}

async function seedAndWatch(running: RunningProcess, out: { write(text: string): unknown }, opts: OutOfTheBoxOptions): Promise<OrderRecord[]> {
  const producer = createProducer({ redisUrl: running.config.redis.url, prefix: running.config.queuePrefix, keyLayout: running.config.keyLayout });
  try {
    // Fresh order ids per run, so a Redis kept between runs shows new orders rather than duplicates.
    const run = Date.now().toString(36).slice(-5);
    const events = exampleEvents().map((e) => ({ ...e, orderId: `${String(e.orderId)}-${run}` }));
    await producer.orderPaidBulk(events);
    out.write(`ORDERS   enqueued ${events.length} example orders (${events.map((e) => e.orderId).join(', ')})\n`);
    const ids = events.map((e) => e.orderId);
    const deadline = Date.now() + (opts.settleTimeoutMs ?? 180_000);
    let last = '';
    let records: Array<OrderRecord | undefined> = [];
    for (;;) {
      records = await Promise.all(ids.map((id) => producer.getOrder(id)));
      const line = renderProgress(records.filter((r): r is OrderRecord => r !== undefined));
      if (line && line !== last) out.write(`PROGRESS ${line}\n`);
      last = line;
      if (settled(records) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, opts.progressEveryMs ?? 500));
    }
    const done = records.filter((r): r is OrderRecord => r !== undefined);
    out.write(`\n${settled(records) ? 'Everything settled' : 'Still in flight after the wait'}: every delivery of the example orders\n\n${renderSummary(done)}\n\n`);
    printAccess(out, running);
    const api = running.api;
    const example = ids[ids.length - 1];
    out.write([
      'Try:',
      `  REDIS_URL=${running.config.redis.url} npx order-notify order ${example}`,
      ...(api ? [
        `  curl -s ${api.url}/v1/orders/${example} -H 'authorization: Bearer ${api.credentials.ingestToken}'`,
        `  curl -s -X POST ${api.url}/v1/events/order-paid -H 'authorization: Bearer ${api.credentials.ingestToken}' -H 'content-type: application/json' --data @examples/order-paid-line.json`,
      ] : []),
      'Serving until Ctrl-C.',
      '',
    ].join('\n'));
    return done;
  } finally {
    await producer.close();
  }
}

function exampleEvents(): Array<Record<string, unknown>> {
  const dir = [new URL('../../examples/', import.meta.url), new URL('../../../examples/', import.meta.url)]
    .map((u) => fileURLToPath(u)).find((d) => existsSync(d));
  if (!dir) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.json')).sort()
    .map((f) => JSON.parse(readFileSync(`${dir}${f}`, 'utf8')) as Record<string, unknown>);
}

/** The preferred port when it is free, else any free one (a laptop often has something on 3000). */
function portOr(preferred: number): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => {
      const any = createServer();
      any.listen(0, '127.0.0.1', () => {
        const a = any.address();
        any.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
      });
    });
    probe.listen(preferred, () => probe.close(() => resolve(preferred)));
  });
}

/** `order-notify start` with no component named: out of the box when something is missing, else the plain process. */
export async function runStart(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const own = { ...env };
  try {
    const plan = await decideStartup(own);
    if (!plan.embeddedRedis && plan.sandboxVendors.length === 0) {
      await runProcess(processComponents(), { env: own });
      return;
    }
    const box = await startOutOfTheBox({ env: own, plan });
    onShutdown(box.running.logger, () => box.close(), { forceAfterMs: box.running.config.shutdownTimeoutMs + 10_000 });
    await box.summary;
  } catch (e) {
    if (e instanceof StartupError || e instanceof ConfigError || e instanceof RoutesError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(e instanceof StartupError ? e.exitCode : EXIT.config);
    }
    throw e;
  }
}
