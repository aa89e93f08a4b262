import { Cluster, Redis, type RedisOptions } from 'ioredis';

export type RedisConnection = Redis | Cluster;
export interface RedisTarget { url: string; clusterNodes?: string[] }

/**
 * Two kinds of connection, because BullMQ needs different behaviour from each:
 * - `worker`: blocking commands, must never give up (maxRetriesPerRequest: null), reconnects forever.
 * - `producer`: fails fast when Redis is down (no offline queue), so callers get an error instead of a hang.
 */
export type ConnectionRole = 'worker' | 'producer';

function optionsFor(role: ConnectionRole): RedisOptions {
  const reconnect = { retryStrategy: (times: number) => Math.min(times * 200, 2_000) };
  return role === 'worker'
    ? { maxRetriesPerRequest: null, enableReadyCheck: true, ...reconnect }
    : { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2_000, commandTimeout: 5_000, ...reconnect };
}

export function createRedis(target: RedisTarget, role: ConnectionRole): RedisConnection {
  const options = optionsFor(role);
  if (target.clusterNodes?.length) {
    const nodes = target.clusterNodes.map((u) => {
      const parsed = new URL(u);
      return { host: parsed.hostname, port: Number(parsed.port || 6379) };
    });
    return new Cluster(nodes, {
      redisOptions: options,
      enableOfflineQueue: role === 'worker',
      clusterRetryStrategy: options.retryStrategy,
    });
  }
  return new Redis(target.url, options);
}

/** Resolves once the connection is ready, or rejects after timeoutMs (so start-up fails with a clear message). */
export async function waitReady(conn: RedisConnection, timeoutMs = 5_000): Promise<void> {
  if (conn.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis did not become ready within ${timeoutMs} ms (status ${conn.status})`));
    }, timeoutMs);
    const onReady = () => { cleanup(); resolve(); };
    const cleanup = () => { clearTimeout(timer); conn.off('ready', onReady); };
    conn.on('ready', onReady);
  });
}
