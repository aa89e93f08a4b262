import { createServer, type Server } from 'node:http';
import type { Metrics } from './metrics.js';
import { checkReady } from './readiness.js';

export interface ProbeServerOptions {
  port: number;
  host?: string;
  metrics: Metrics;
  /** Throws (or rejects) when the process cannot do its work: Redis unreachable, shutting down. */
  ready(): Promise<void>;
}

export interface ProbeServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/**
 * Every worker process answers Kubernetes on its own port: /healthz (the process is alive), /readyz (it can reach
 * Redis and is not shutting down), /metrics (Prometheus text). Plain node:http: a worker needs nothing heavier.
 */
export async function startProbeServer(opts: ProbeServerOptions): Promise<ProbeServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (status: number, body: string, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, JSON.stringify({ error: 'method not allowed' }));
    if (path === '/healthz') return reply(200, JSON.stringify({ status: 'ok' }));
    if (path === '/readyz') {
      checkReady(opts.ready).then(
        () => reply(200, JSON.stringify({ status: 'ready' })),
        (e: unknown) => reply(503, JSON.stringify({ status: 'not ready', reason: e instanceof Error ? e.message : String(e) })),
      );
      return;
    }
    if (path === '/metrics') {
      opts.metrics.scrape().then(
        (text) => reply(200, text, opts.metrics.contentType),
        (e: unknown) => reply(500, `metrics failed: ${e instanceof Error ? e.message : String(e)}\n`, 'text/plain'),
      );
      return;
    }
    reply(404, JSON.stringify({ error: 'not found' }));
  });
  // Probes are short requests; idle keep-alive sockets must not hold the process open at shutdown.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  return {
    server,
    port: typeof address === 'object' && address ? address.port : opts.port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    }),
  };
}
