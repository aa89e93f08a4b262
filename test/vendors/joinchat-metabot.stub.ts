import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A scripted HTTP server for the client tests: answers what the test queues (status, headers, raw body) or hangs,
 * and records the exact bytes and headers it received. For answers the strict sandbox never gives (a 200 carrying
 * an error, a proxy's HTML page, a timeout).
 */
export interface StubAnswer { status: number; body?: unknown; headers?: Record<string, string>; hang?: boolean }
export interface StubRequest { method: string; url: string; headers: IncomingHttpHeaders; raw: string }

export interface Stub {
  url: string;
  received: StubRequest[];
  answer(a: StubAnswer): void;
  close(): Promise<void>;
}

export async function startStub(): Promise<Stub> {
  const queue: StubAnswer[] = [];
  const received: StubRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, raw: Buffer.concat(chunks).toString('utf8') });
      const a = queue.shift() ?? { status: 500, body: { error: 'stub: no answer queued' } };
      if (a.hang) return; // the client's timeout fires
      const body = typeof a.body === 'string' ? a.body : a.body === undefined ? '' : JSON.stringify(a.body);
      const type = typeof a.body === 'string' ? 'text/html' : 'application/json';
      res.writeHead(a.status, { 'content-type': type, ...a.headers }).end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    answer: (a) => queue.push(a),
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
