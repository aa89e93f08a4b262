import { createServer, type Server } from 'node:http';
import type { Metrics } from './metrics.js';

export interface ProbeServerOptions {
  port: number;
  host?: string;
  metrics: Metrics;
  /** Throws (or rejects) when the process cannot do its work: Redis unreachable, config invalid. */
  ready(): Promise<void>;
  /** Refreshes gauges that are read at scrape time (queue depths). */
  beforeScrape?(): Promise<void>;
}

/**
 * Every worker process answers Kubernetes on its own port: /healthz (the process is alive), /readyz (it can reach
 * Redis), /metrics (Prometheus text). Plain node:http: a worker needs nothing heavier.
 */
export async function startProbeServer(opts: ProbeServerOptions): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (status: number, body: string, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type }).end(body);
    };
    if (req.method !== 'GET') return reply(405, JSON.stringify({ error: 'method not allowed' }));
    if (path === '/healthz') return reply(200, JSON.stringify({ status: 'ok' }));
    if (path === '/readyz') {
      opts.ready().then(
        () => reply(200, JSON.stringify({ status: 'ready' })),
        (e: unknown) => reply(503, JSON.stringify({ status: 'not ready', reason: e instanceof Error ? e.message : String(e) })),
      );
      return;
    }
    if (path === '/metrics') {
      (opts.beforeScrape?.() ?? Promise.resolve())
        .catch(() => undefined) // a failed gauge refresh must not hide the other metrics
        .then(() => opts.metrics.registry.metrics())
        .then((text) => reply(200, text, opts.metrics.registry.contentType), (e: unknown) => reply(500, String(e), 'text/plain'));
      return;
    }
    reply(404, JSON.stringify({ error: 'not found' }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => resolve());
  });
  const address = server.address();
  return {
    server,
    port: typeof address === 'object' && address ? address.port : opts.port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
